#!/usr/bin/env bash
# deps.sh installs, from Debian's packages, what building and testing bunix
# need and is missing; it changes nothing when all of it is there.
#
#   scripts/deps.sh       everything `make test` needs: Nix, Docker,
#                         containerd, a registry, skopeo, cpio, gzip, e2fsprogs (e2fsck, debugfs, dumpe2fs:
#                         they read back the block images bunix writes),
#                         qemu-system-x86 (the boot test), and make itself,
#                         for .ci/run on a bare machine, and openssh-server
#                         and openssh-client (the remote-builder test runs an
#                         sshd of its own on loopback)
#   scripts/deps.sh nix   only Nix, for `make image`
#   scripts/deps.sh newnix  debootstrap, which scripts/newnix.sh makes its
#                         Debian sid rootfs with
#
# With everything, it also builds the real cosign (go install, from the Go
# module proxy) into $HOME/.cache/bunix-tools, once: the tests check
# bunix's signatures with it (internal/testenv.Cosign).
#
# It runs apt-get update once, and only when something is missing, and uses
# sudo unless it runs as root.
set -euo pipefail

# Each entry is COMMAND:PACKAGE[,PACKAGE...]: the packages that provide
# COMMAND; a PACKAGE written A|B is the first of them apt knows (the docker
# CLI is docker.io's up to Debian 13, docker-cli's in sid). nix-setup-systemd is only a Recommends of nix-bin, but it creates
# the nixbld group and users that nix-build needs when run as root.
# docker.io's Depends (containerd, runc, tini) are all dockerd needs here,
# and bring the containerd and ctr the tests also run on their own;
# its Recommends (apparmor, cgroupfs-mount, ...) are for hosts that have
# AppArmor on, or no cgroups mounted.
nix=nix-build:nix-bin,nix-setup-systemd
case "${1:-all}" in
all) needs=("$nix" dockerd:docker.io 'docker:docker-cli|docker.io' containerd:containerd ctr:containerd
	docker-registry:docker-registry skopeo:skopeo cpio:cpio gzip:gzip e2fsck:e2fsprogs
	debugfs:e2fsprogs dumpe2fs:e2fsprogs qemu-system-x86_64:qemu-system-x86 make:make
	sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client) ;;
nix) needs=("$nix") ;;
newnix) needs=(debootstrap:debootstrap) ;;
*)
	echo "usage: $0 [nix]" >&2
	exit 2
	;;
esac

# dockerd lives in /usr/sbin, which is not on a user's PATH on Debian.
PATH=$PATH:/usr/sbin:/sbin

log() { echo "deps.sh: $*" >&2; }

have() {
	command -v "$1" >/dev/null || return 1
	if [[ $1 == nix-build ]]; then
		getent group nixbld >/dev/null || return 1
	fi
}

missing=()
for need in "${needs[@]}"; do
	cmd=${need%%:*}
	if have "$cmd"; then
		log "$cmd: present"
	else
		IFS=, read -ra pkgs <<<"${need#*:}"
		log "$cmd: missing, will install ${pkgs[*]}"
		missing+=("${pkgs[@]}")
	fi
done
# The boot test fetches Debian's kernel package with apt-get download, which
# needs it in the package lists.
lists_stale=false
if [[ ${1:-all} == all ]] && ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
	log "linux-image-amd64: not in the package lists, will run apt-get update"
	lists_stale=true
fi

# cosign, built once and kept; the version is internal/testenv.CosignVersion.
cosign_version=v2.6.5
tools=${HOME:-/root}/.cache/bunix-tools
if [[ ${1:-all} == all && ! -x $tools/cosign ]]; then
	log "cosign: missing, building $cosign_version into $tools (a few minutes, once)"
	(cd / && GOBIN=$tools GOFLAGS=-mod=mod go install "github.com/sigstore/cosign/v2/cmd/cosign@$cosign_version") >&2
elif [[ ${1:-all} == all ]]; then
	log "cosign: present ($tools/cosign)"
fi

if ((${#missing[@]} == 0)) && ! $lists_stale; then
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	sudo=(sudo)
fi
log "apt-get update"
"${sudo[@]}" apt-get update -q >&2
for i in "${!missing[@]}"; do
	if [[ ${missing[i]} == *"|"* ]]; then
		IFS='|' read -ra alternatives <<<"${missing[i]}"
		for p in "${alternatives[@]}"; do
			if apt-cache show "$p" >/dev/null 2>&1; then
				missing[i]=$p
				break
			fi
		done
		missing[i]=${missing[i]%%|*}
	fi
done
if ((${#missing[@]} > 0)); then
	log "apt-get install ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# docker-registry's package enables and starts a registry on port 5000 of
# every interface, where systemd runs. The tests start their own, on
# loopback; stop the one just installed, and keep it from starting at boot.
if [[ " ${missing[*]} " == *" docker-registry "* && -d /run/systemd/system ]]; then
	log "systemctl disable --now docker-registry.service"
	"${sudo[@]}" systemctl disable --now docker-registry.service >&2
fi
# Likewise openssh-server's sshd, on port 22: the remote-builder test starts
# its own. (Only when this run installed it: a machine reached over SSH
# already had it.)
if [[ " ${missing[*]} " == *" openssh-server "* && -d /run/systemd/system ]]; then
	log "systemctl disable --now ssh.service ssh.socket"
	"${sudo[@]}" systemctl disable --now ssh.service >&2
	"${sudo[@]}" systemctl disable --now ssh.socket >&2 2>/dev/null || true
fi

for need in "${needs[@]}"; do
	cmd=${need%%:*}
	if ! have "$cmd"; then
		log "$cmd: still missing after installing ${need#*:}; see apt-get's output above"
		exit 1
	fi
done
log "done"
