#!/usr/bin/env bash
# nix-examples.sh builds the default args.nix and each example's with
# nix-build default.nix and out/bin/bunix (make bunix), in the sandbox with
# no substituters, and prints one line per args file:
#
#   ARGS DRV NARHASH
#
# the args file, the image's .drv and the NAR hash of the image. Two Nix
# versions that agree print the same lines: scripts/newnix.sh compares
# Debian sid's Nix with this machine's that way. examples/linux-boot is
# left out unless its kernel and init are there (examples/linux-boot/boot.sh
# fetches and builds them). nix/testdata/positions/args.nix writes its fields
# every way Nix allows, for the positions the spec carries.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x out/bin/bunix ]] || {
	echo "nix-examples.sh: out/bin/bunix missing: run make bunix first" >&2
	exit 1
}
opts=(--option substituters '' --option sandbox true)
for args in args.nix examples/*/args.nix nix/testdata/positions/args.nix; do
	if [[ $args == examples/linux-boot/* && ! (-f examples/linux-boot/vmlinuz && -f examples/linux-boot/init) ]]; then
		continue
	fi
	nixargs=(default.nix --arg bunix "$PWD/out" --arg args "$PWD/$args")
	drv=$(nix-instantiate "${opts[@]}" "${nixargs[@]}" 2>/dev/null) || {
		nix-instantiate "${opts[@]}" "${nixargs[@]}" >&2 || true
		echo "nix-examples.sh: $args: nix-instantiate failed" >&2
		exit 1
	}
	out=$(nix-build --no-out-link "${opts[@]}" "${nixargs[@]}") || {
		echo "nix-examples.sh: $args: nix-build failed" >&2
		exit 1
	}
	echo "$args $drv $(nix-store --query --hash "$out")"
done
