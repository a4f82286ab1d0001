#!/usr/bin/env bash
# fuzz.sh runs every native Go fuzz target (func FuzzX(f *testing.F)) of the
# module for a short fixed time each, so that a regression in a decoder of
# outside input shows in CI. The seed corpora (f.Add and testdata/fuzz) run
# with every `go test`; this adds new random inputs on top.
#
#   scripts/fuzz.sh          each target for 10s
#   FUZZTIME=1m scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
n=0
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz.sh: $pkg $target for $fuzztime" >&2
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
		n=$((n + 1))
	done
done
echo "fuzz.sh: ran $n fuzz targets" >&2
if ((n == 0)); then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi
