#!/usr/bin/env bash
# newnix.sh runs the Nix tests on the newest Nix Debian offers (sid's
# nix-bin), in a Debian sid root file system made once with debootstrap and
# kept between runs, and checks that the images it builds are byte for byte
# those of the Nix on this machine.
#
#   scripts/newnix.sh            make the rootfs if missing, then build the
#                                examples there and here (scripts/nix-examples.sh:
#                                the same .drv and bytes, or it fails), then
#                                go test ./nix/... there
#   scripts/newnix.sh rootfs     only make the rootfs (or say where it is)
#   scripts/newnix.sh shell      a shell in it, the checkout at /src
#   scripts/newnix.sh run CMD..  CMD in it, in /src
#
# The rootfs is $NEWNIX_CACHE (default /var/cache/bunix/sid-nix), outside the
# clone. Making it takes a few minutes; remove it to make it afresh (e.g. to
# follow a new nix-bin). The tests get a fresh /nix each run.
#
# The rootfs is entered with unshare -m and pivot_root, not chroot(2): inside
# a chroot, the kernel refuses the user namespace Nix's sandbox needs, and Nix
# would build unsandboxed. nix.conf there says sandbox = true and
# sandbox-fallback = false, so a build that cannot be sandboxed fails instead.
#
# Runs as root (debootstrap, mounts). Needs debootstrap (scripts/deps.sh
# newnix installs it when missing), Go in /usr/local/go (bound into the rootfs read-only) and
# Debian's mirror over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
cache=${NEWNIX_CACHE:-/var/cache/bunix/sid-nix}
mirror=${NEWNIX_MIRROR:-http://deb.debian.org/debian}
suite=${NEWNIX_SUITE:-sid}
goroot=$(go env GOROOT)
gomodcache=$(go env GOMODCACHE)
gitdir=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)

log() { echo "newnix.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

((EUID == 0)) || die "needs root (debootstrap, mount, pivot_root); run it as root, as .ci/run does"

# rootfs makes $cache when it is not there: debootstrap into a temporary
# directory beside it, then, in it, scripts/deps.sh (the same packages as
# the host's tests get, Nix included) and nix.conf; renamed into place only
# when all of that worked. An existing one gets what scripts/deps.sh added
# since it was made.
rootfs() {
	# One run at a time makes or updates it.
	mkdir -p "$(dirname "$cache")"
	exec 9>"$cache.lock"
	flock 9
	makeRootfs
	exec 9>&-
}

makeRootfs() {
	if [[ -f $cache/.bunix-newnix ]]; then
		# What the tests need may have grown since: deps.sh adds it (and
		# does nothing when all of it is there).
		enter "$cache" scripts/deps.sh </dev/null
		return
	fi
	scripts/deps.sh newnix </dev/null
	local tmp=$cache.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "debootstrap $suite into $tmp from $mirror"
	debootstrap --variant=minbase --include=ca-certificates,make,git "$suite" "$tmp" "$mirror" >&2 ||
		die "debootstrap $suite $tmp $mirror failed (its log: $tmp/debootstrap/debootstrap.log)"
	# policy-rc.d: installing docker.io or openssh-server starts no service.
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	# sid's Release file may have expired on a mirror that lags (or a
	# machine whose clock runs ahead); debootstrap does not check, apt does.
	echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99bunix-newnix"
	enter "$tmp" bash -c 'apt-get update -q && scripts/deps.sh'
	mkdir -p "$tmp/etc/nix"
	cat >"$tmp/etc/nix/nix.conf" <<-'EOF'
		# scripts/newnix.sh: always sandboxed, never silently not.
		build-users-group = nixbld
		sandbox = true
		sandbox-fallback = false
		substituters =
		experimental-features = nix-command flakes
	EOF
	enter "$tmp" nix-build --version >/dev/null || die "nix-build does not run in $tmp"
	touch "$tmp/.bunix-newnix"
	rm -rf "$cache"
	mv "$tmp" "$cache"
	log "made $cache ($(enter "$cache" nix-build --version))"
}

# enter root CMD...: CMD in root, as its /, in a mount namespace of its own,
# with this checkout at /src (the working directory), Go and its module
# cache bound in, /proc, /sys and /dev from the host, and /nix, /tmp and
# /run empty: a fresh Nix store each time.
enter() {
	local root=$1
	shift
	local work rc=0
	work=$(mktemp -d "${TMPDIR:-/tmp}/bunix-newnix.XXXXXX")
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private -- bash -euc '
		root=$1 work=$2 src=$3 goroot=$4 gomodcache=$5 gitdir=$6 tools=$7
		shift 7
		mount --bind "$root" "$root"
		mkdir -p "$root/src" "$root/usr/local/go" "$root/gomodcache" "$root/nix" "$work/nix" "$root/.oldroot"
		mount --bind "$src" "$root/src"
		# A git worktree and its repository name each other by absolute
		# path: bind both there too.
		if [[ -n $gitdir && $gitdir != "$src"/* ]]; then
			mkdir -p "$root$gitdir" "$root$src"
			mount --bind "$gitdir" "$root$gitdir"
			mount --bind "$src" "$root$src"
		fi
		mount --bind -o ro "$goroot" "$root/usr/local/go"
		mount --bind "$gomodcache" "$root/gomodcache"
		# The real cosign the tests run, built on the host by deps.sh:
		# inside, deps.sh finds it present rather than building it again
		# (the rootfs has no CA for this machine'"'"'s Go module proxy).
		if [[ -d $tools ]]; then
			mkdir -p "$root/root/.cache/bunix-tools"
			mount --bind -o ro "$tools" "$root/root/.cache/bunix-tools"
		fi
		mount --bind "$work/nix" "$root/nix"
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
		mount -t tmpfs tmpfs "$root/run"
		cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
		cd "$root"
		pivot_root . .oldroot
		umount -l /.oldroot
		cd /src
		exec /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" CI="${CI:-}" \
			PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			GOMODCACHE=/gomodcache GOCACHE=/root/.cache/go-build GOFLAGS=-buildvcs=false \
			"$@"
	' newnix "$root" "$work" "$src" "$goroot" "$gomodcache" "$gitdir" "${HOME:-/root}/.cache/bunix-tools" "$@" || rc=$?
	rm -rf "$work"
	return $rc
}

case "${1:-test}" in
rootfs)
	rootfs
	echo "$cache"
	;;
shell)
	rootfs
	enter "$cache" bash -l
	;;
run)
	shift
	rootfs
	enter "$cache" "$@"
	;;
test)
	rootfs
	newnix=$(enter "$cache" nix-build --version)
	oldnix=$(nix-build --version)
	log "$newnix: the examples' images, against $oldnix's"
	make -s bunix
	results=$(mktemp -d "${TMPDIR:-/tmp}/bunix-newnix-results.XXXXXX")
	trap 'rm -rf "$results"' EXIT
	# (Not in out/: that is the bunix prefix both Nix versions copy.)
	scripts/nix-examples.sh >"$results/old"
	enter "$cache" scripts/nix-examples.sh >"$results/new"
	if ! diff -u --label "$oldnix" --label "$newnix" "$results/old" "$results/new" >&2; then
		die "$newnix and $oldnix give other derivations or other bytes for the same args (above: args file, .drv, NAR hash)"
	fi
	log "the same .drv and bytes for $(wc -l <"$results/old") args files on $oldnix and $newnix"
	log "$newnix: go test ./nix/..."
	enter "$cache" go test -count=1 -timeout 30m ./nix/...
	;;
*)
	echo "usage: $0 [rootfs|shell|run CMD...|test]" >&2
	exit 2
	;;
esac
