#!/usr/bin/env bash
# nix.sh measures the Nix layer derivations (nix/lib.nix): the first build
# of an image with a big kernel that is a store path (contents), then the
# rebuild after a one-file change, for format = "oci" and docker-archive,
# and streamImage, and prints Markdown rows: wall time, the ratio to the
# first build, and how much the store grew (du of the new store paths,
# symlinks not followed). A plain cp of the kernel is the floor of any
# build that copies it. run.sh calls it; it runs alone too:
#
#   bench/nix.sh                  # a 1 GiB kernel
#   SIZE=256M bench/nix.sh
#
# Each run makes a new kernel (random bytes), so that nothing is cached
# from an earlier run; nix-build runs in the sandbox without substituters.
set -euo pipefail

SIZE=${SIZE:-1G}
DIR=${BUNIX_BENCH_DIR:-/var/tmp/bunix-bench}/nix
ROOT=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "nix.sh: $*" >&2; }
nixopts=(--option substituters "" --option sandbox true --no-out-link)

rm -rf "$DIR" && mkdir -p "$DIR/bunix/bin" "$DIR/src"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$DIR/bunix/bin/bunix" ./cmd/bunix)
# newKernel adds a new kernel of SIZE random bytes to the store, as
# $kernel: each format's first build then builds its kernel layer.
made=()
newKernel() {
	log "making a $SIZE kernel and adding it to the store"
	head -c "$SIZE" /dev/urandom >"$DIR/kernel"
	kernel=$(nix-store --add "$DIR/kernel")
	rm "$DIR/kernel"
	made+=("$kernel")
}
# The store paths made here go once done (none is a GC root), unless KEEP=1.
[[ ${KEEP:-0} == 1 ]] || trap 'for p in "${made[@]}"; do nix-store --delete $(nix-store -q --referrers-closure "$p") >/dev/null 2>&1 || true; done' EXIT

# conf N writes the config file, new each time.
conf() { echo "setting $1 $RANDOM$RANDOM" >"$DIR/src/app.conf"; }

# expr FUNCTION FORMAT writes a Nix file calling lib.FUNCTION for the image.
expr() {
	cat >"$DIR/$1-$2.nix" <<NIX
(import $ROOT/nix/lib.nix).$1 {
  name = "bench/nix"; format = "$2"; root = $DIR/src;
  files = { "./app.conf" = "/conf/app.conf"; };
  contents = [ { source = "$kernel"; target = "/unikernel/kernel"; } ];
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; };
  bunix = $DIR/bunix;
}
NIX
	echo "$DIR/$1-$2.nix"
}

# closure NIXFILE lists the store paths building NIXFILE's derivation
# needs and makes (its inputs, layers included, and its outputs), but not
# the .drv files.
closure() { nix-store -qR --include-outputs "$(nix-instantiate "$1" 2>/dev/null)" | grep -v '[.]drv$' | sort; }

# timed CMD...: runs CMD, prints its wall time in seconds, leaves its stdout
# in $DIR/stdout.
timed() {
	local t0 t1
	sync
	t0=$(date +%s.%N)
	"$@" >"$DIR/stdout"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

# mib: the MiB of the store paths on stdin (symlinks not followed).
mib() { xargs -r du -sb --apparent-size | awk '{ s += $1 } END { printf "%.2f", s / 1048576 }'; }

echo "| Nix, $SIZE kernel | wall (s) | × first build | store growth (MiB) |"
echo "|---|---:|---:|---:|"
newKernel
t=$(timed cp "$kernel" "$DIR/copy")
rm -f "$DIR/copy"
echo "| cp of the kernel (floor) | $t | | |"
for format in oci docker-archive; do
	newKernel
	e=$(expr buildImage "$format")
	conf 1
	first=$(timed nix-build "${nixopts[@]}" "$e")
	closure "$e" >"$DIR/before"
	echo "| buildImage, $format: first build | $first | 1.00 | $(grep -v "$kernel\|-bunix$" "$DIR/before" | mib) |"
	conf 2
	again=$(timed nix-build "${nixopts[@]}" "$e")
	b=$(cat "$DIR/stdout")
	noop=$(timed nix-build "${nixopts[@]}" "$e")
	echo "| buildImage, $format: nothing changed (Nix's own floor) | $noop | $(awk -v a="$noop" -v b="$first" 'BEGIN { printf "%.2f", a / b }') | 0 |"
	echo "| buildImage, $format: one-file rebuild | $again | $(awk -v a="$again" -v b="$first" 'BEGIN { printf "%.2f", a / b }') | $(comm -13 "$DIR/before" <(closure "$e") | mib) |"
done
e=$(expr streamImage docker-archive)
conf 3
t=$(timed nix-build "${nixopts[@]}" "$e")
s=$(cat "$DIR/stdout")
echo "| streamImage: build (kernel layer cached) | $t | | |"
t=$(timed sh -c "$s | cat >/dev/null")
echo "| streamImage: ./result \| cat (the pipe docker load reads) | $t | | |"
t=$(timed sh -c "cat $b | cat >/dev/null")
echo "| the docker-archive result through the same pipe, for comparison | $t | | |"
if docker info >/dev/null 2>&1; then
	t=$(timed sh -c "$s | docker load")
	echo "| ./result \| docker load | $t | | |"
	t=$(timed sh -c "docker load < $b")
	echo "| docker load < result | $t | | |"
else
	log "no docker daemon: the docker load rows are left out"
fi
