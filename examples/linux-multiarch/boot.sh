#!/usr/bin/env bash
# boot.sh builds the linux-multiarch example's image index with nix-build
# and boots each of its entries, linux/amd64 and linux/arm64, under qemu as
# urunc would on a host of that architecture, printing what the guests
# print:
#
#   examples/linux-multiarch/boot.sh
#
# 1. the kernels: Debian's cloud kernels (the packages linux-image-cloud-amd64
#    and linux-image-cloud-arm64 depend on), fetched with apt-get download
#    and unpacked with dpkg-deb -x (nothing is installed), as ./vmlinuz-amd64
#    and ./vmlinuz-arm64. The arm64 one needs Debian's arm64 package lists:
#    dpkg --add-architecture arm64 && apt-get update.
#    KERNEL_AMD64=/path and KERNEL_ARM64=/path use other kernels;
# 2. ./init-amd64 and ./init-arm64: ../linux-boot/guest/main.go, built static
#    with GOARCH=amd64 and GOARCH=arm64;
# 3. the index: nix-build index.nix, with bunix built by `make bunix`
#    (BUNIX=PREFIX takes a prebuilt PREFIX/bin/bunix), in the sandbox and
#    without nixpkgs or substituters; the oci-archive is ./result;
# 4. the boots: `bunix run --platform linux/ARCH` picks each entry of the
#    index, reads it as urunc does and runs qemu with urunc's command line
#    for that architecture (qemu-system-x86_64, console=ttyS0;
#    qemu-system-aarch64 -M virt, console=ttyAMA0), under TCG (emulation),
#    printing the command line first (--dry-run). PLATFORMS="linux/arm64"
#    boots only the entries named.
#
# WORK=DIR builds in DIR instead of this directory. It needs Go, Nix,
# apt-get, qemu-system-x86_64 and qemu-system-aarch64 (Debian's
# qemu-system-x86 and qemu-system-arm).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${WORK:-$here}
GO=${GO:-go}
platforms=${PLATFORMS:-linux/amd64 linux/arm64}
log() { echo "boot.sh: $*" >&2; }

mkdir -p "$work"
work=$(cd "$work" && pwd)
if [[ $work != "$here" ]]; then
	cp "$here/motd" "$work/"
fi

# kernel ARCH: ./vmlinuz-ARCH, from $KERNEL_<ARCH> or Debian's cloud kernel.
kernel() {
	local arch=$1 given out=$work/vmlinuz-$1 meta pkg tmp
	given=KERNEL_${arch^^}
	if [[ -n ${!given:-} ]]; then
		cp "${!given}" "$out"
		return
	fi
	[[ -f $out ]] && return
	meta=linux-image-cloud-$arch
	[[ $arch == "$(dpkg --print-architecture)" ]] || meta=$meta:$arch
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	if [[ -z $pkg ]]; then
		log "apt-cache depends $meta names no kernel package: run dpkg --add-architecture $arch && apt-get update (Debian's repositories), or set $given=/path/to/vmlinuz"
		exit 1
	fi
	log "fetching $pkg with apt-get download"
	tmp=$(mktemp -d)
	chmod 777 "$tmp" # apt-get download runs as _apt where it can
	(cd "$tmp" && apt-get download -q "$pkg")
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	cp "$tmp"/root/boot/vmlinuz-* "$out"
	rm -rf "$tmp"
}

for arch in amd64 arm64; do
	kernel "$arch"
	log "building ../linux-boot/guest as $work/init-$arch (GOARCH=$arch)"
	(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -ldflags "-s -w" -o "$work/init-$arch" ./examples/linux-boot/guest)
done

if [[ -z ${BUNIX:-} ]]; then
	"$root/scripts/deps.sh" nix
	make -C "$root" bunix GO="$GO"
	BUNIX=$root/out
fi
log "building $here/index.nix with nix-build"
nix-build "$here/index.nix" --arg bunix "$BUNIX" --arg root "$work" \
	--option substituters '' --option sandbox true -o "$work/result"

for platform in $platforms; do
	run=("$BUNIX/bin/bunix" run --accel tcg --timeout 2m --platform "$platform")
	log "booting the $platform entry of $work/result under qemu: ${run[*]} $work/result"
	"${run[@]}" --dry-run "$work/result" | sed 's/^/run: /'
	"${run[@]}" "$work/result"
done
