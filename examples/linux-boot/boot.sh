#!/usr/bin/env bash
# boot.sh builds the linux-boot example's image with nix-build and boots it
# under qemu as urunc would, printing what the guest prints:
#
#   examples/linux-boot/boot.sh        # or: make boot-example
#
# 1. the kernel: Debian's cloud kernel (the package linux-image-cloud-amd64
#    depends on), fetched with apt-get download and unpacked with dpkg-deb -x
#    (nothing is installed), as ./vmlinuz; KERNEL=/path/to/vmlinuz uses
#    another one;
# 2. ./init: guest/main.go, built static with Go;
# 3. the image: nix-build default.nix on args.nix, with bunix built by
#    `make bunix` (BUNIX=PREFIX takes a prebuilt PREFIX/bin/bunix), in the
#    sandbox and without nixpkgs or substituters; the image is ./result;
# 4. the boot: `bunix run` reads the image as urunc does and runs qemu with
#    urunc's command line, which `bunix run --dry-run` prints first;
#    TCG by default, which boots anywhere; ACCEL=kvm uses KVM, and ACCEL=
#    (empty) lets bunix run choose (KVM when /dev/kvm runs a guest).
#
# WORK=DIR builds in DIR (a copy of args.nix and motd, ./vmlinuz, ./init,
# ./result) instead of this directory. It needs Go, Nix (make image's
# scripts/deps.sh nix installs it), apt-get and qemu-system-x86_64.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${WORK:-$here}
accel=${ACCEL-tcg}
GO=${GO:-go}
log() { echo "boot.sh: $*" >&2; }

mkdir -p "$work"
work=$(cd "$work" && pwd)
if [[ $work != "$here" ]]; then
	cp "$here/args.nix" "$here/motd" "$work/"
fi

if [[ -n ${KERNEL:-} ]]; then
	cp "$KERNEL" "$work/vmlinuz"
elif [[ ! -f $work/vmlinuz ]]; then
	pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	if [[ -z $pkg ]]; then
		log "apt-cache depends linux-image-cloud-amd64 names no kernel package: run apt-get update (Debian or Ubuntu with Debian's repositories), or set KERNEL=/path/to/vmlinuz"
		exit 1
	fi
	log "fetching $pkg with apt-get download"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	chmod 777 "$tmp" # apt-get download runs as _apt where it can
	(cd "$tmp" && apt-get download -q "$pkg")
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	cp "$tmp"/root/boot/vmlinuz-* "$work/vmlinuz"
	rm -rf "$tmp"
	trap - EXIT
fi

log "building guest/main.go as $work/init"
(cd "$root" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$work/init" ./examples/linux-boot/guest)

if [[ -z ${BUNIX:-} ]]; then
	"$root/scripts/deps.sh" nix
	make -C "$root" bunix GO="$GO"
	BUNIX=$root/out
fi
log "building $work/args.nix with nix-build"
nix-build "$root/default.nix" --arg bunix "$BUNIX" --argstr args "$work/args.nix" \
	--option substituters '' --option sandbox true -o "$work/result"

run=("$BUNIX/bin/bunix" run --timeout 2m)
if [[ -n $accel ]]; then
	run+=(--accel "$accel")
fi
log "booting $work/result under qemu: ${run[*]} $work/result"
"${run[@]}" --dry-run "$work/result" | sed 's/^/run: /'
exec "${run[@]}" "$work/result"
