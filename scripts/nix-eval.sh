#!/usr/bin/env bash
# nix-eval.sh DESCRIPTION NIX-INSTANTIATE-ARGUMENTS...: what `make image`
# runs before nix-build. It evaluates the derivation (nix-instantiate
# ARGUMENTS), under the same caps as bunix's own evaluation of an args.nix,
# and prints the .drv path that nix-build then builds with no cap:
#
#   BUNIX_EVAL_MEMORY  address space of nix-instantiate (ulimit -v): bytes,
#                      or with a binary unit: 512MiB, 8GiB, 8G (default 4GiB)
#   BUNIX_EVAL_TIMEOUT its time: seconds, or a number with s, m or h
#                      (default 120s)
#
# Nix keeps on evaluating after SIGTERM, so the timeout sends SIGKILL. A cap
# reached is a description too costly to evaluate: the message names
# DESCRIPTION and the cap, and the exit status is 2. Unlike bunix, which
# caps resident memory, this caps address space, which a Nix evaluation
# uses some hundreds of MiB more of than resident memory.
set -uo pipefail
desc=$1
shift
mem=${BUNIX_EVAL_MEMORY:-4GiB}
timeout=${BUNIX_EVAL_TIMEOUT:-120s}

if [[ $mem =~ ^([0-9]+)[[:space:]]*([A-Za-z]*)$ ]]; then
	n=${BASH_REMATCH[1]}
	case ${BASH_REMATCH[2],,} in
	"" | b) kib=$((n / 1024)) ;;
	k | kib) kib=$n ;;
	m | mib) kib=$((n * 1024)) ;;
	g | gib) kib=$((n * 1024 * 1024)) ;;
	*) kib=0 ;;
	esac
else
	kib=0
fi
if ((kib <= 0)); then
	echo "make image: environment: BUNIX_EVAL_MEMORY = \"$mem\": want a positive size, such as 4GiB, 512MiB or a number of bytes" >&2
	exit 2
fi
if ! [[ $timeout =~ ^[0-9]+(\.[0-9]+)?[smh]?$ ]] || [[ $timeout =~ ^0+(\.0+)?[smh]?$ ]]; then
	echo "make image: environment: BUNIX_EVAL_TIMEOUT = \"$timeout\": want a positive number of seconds, or a number with s, m or h (120s, 5m)" >&2
	exit 2
fi

err=$(mktemp)
trap 'rm -f "$err"' EXIT
drv=$(ulimit -v "$kib" && timeout -s KILL "$timeout" nix-instantiate "$@" 2>"$err")
status=$?
if ((status == 0)); then
	grep -v "did not specify '--add-root'" "$err" >&2
	printf '%s\n' "$drv"
	exit 0
fi
if ((status == 137)); then
	[[ $timeout =~ [smh]$ ]] || timeout+=s
	echo "make image: evaluating $desc took more than $timeout, the cap: set BUNIX_EVAL_TIMEOUT to allow longer, or make the description simpler" >&2
	exit 2
fi
if grep -q 'out of memory\|std::bad_alloc' "$err"; then
	echo "make image: evaluating $desc used more than $mem of address space, the cap: set BUNIX_EVAL_MEMORY to allow more, or make the description smaller" >&2
	exit 2
fi
cat "$err" >&2
exit "$status"
