#!/usr/bin/env bash
# run.sh measures bunix against the floor and the alternatives, on the same
# generated inputs, in one run, and prints a Markdown table: wall time and
# peak RSS (GNU time), and the ratio to `tar cf` (and, for compressed
# layers, to pigz at the same level) of the same case. The ratios are of
# medians; "best" is the fastest round. On a VM that hands freed memory back
# to its host (virtio free page reporting, as on Firecracker), a write that
# lands in such pages pays the host's page faults in its memcpy into the page
# cache, which makes some rounds of any tool up to twice as slow; waiting
# between commands makes it worse, so the script does not.
#
#   bench/run.sh                 # inputs and outputs in $BUNIX_BENCH_DIR,
#                                # default /var/tmp/bunix-bench (on disk)
#   RUNS=3 bench/run.sh          # rounds of the fast tools (default 5); the
#                                # slow ones (naive ggcr, umoci) run once
#   CASES=kernel4g bench/run.sh  # only the cases named (space-separated)
#   NIX=0 bench/run.sh           # without the Nix rows (bench/nix.sh)
#   bench/run.sh --ratio         # only what issue 25's targets need, and
#                                # whether each holds (see below)
#   KEEP=1 bench/run.sh          # keep the generated inputs for next time
#
# --ratio runs, interleaved, the cases "kernel", "kernel4g" and "many"
# (100,000 small files in 1,000 directories) with `tar cf`, `tar cf` then
# `sync -f` (the same durability as bunix, which syncs its output), the
# sha256 of the same files alone (coreutils sha256sum, and Go's, which
# bunix uses), `bunix build` (synced) and bunix without the sync, and for
# gzip `tar cf | pigz -6` against bunix; then a table of the targets with
# the ratios measured and whether each holds, and the load average
# before, during and after: on a machine that others use, the times are
# not a fair measure, and the script says so.
#
# Whatever the mode, the script removes its outputs, and unless KEEP=1,
# the inputs it generated (1 GiB, a 4 GiB sparse file, 100,000 files).
#
# The cases: "kernel", a 1 GiB kernel and 100 small files (two layers);
# "kernel4g", the same with a 4 GiB sparse kernel instead, to show that
# memory use does not grow with the input; and "rootfs", 10,000 small files
# in 100 directories (one layer). The inputs
# are generated once, by bench/cmd/bunix-bench (a fast PRNG, about as
# compressible as a kernel), and read from the page cache by every tool.
# Before each command the outputs are removed and sync'ed, so that no tool
# pays for another's writeback. The rounds interleave the tools, and the
# table gives the median of the rounds.
#
# It installs what it needs from Debian when missing: time, pigz, umoci,
# skopeo.
set -euo pipefail

RATIO=0
for a in "$@"; do
	case $a in
	--ratio) RATIO=1 ;;
	*) echo "run.sh: unknown argument $a (known: --ratio)" >&2 && exit 2 ;;
	esac
done
RUNS=${RUNS:-5}
CASES=${CASES:-}
((RATIO)) && CASES=${CASES:-kernel kernel4g many} && NIX=0
DIR=${BUNIX_BENCH_DIR:-/var/tmp/bunix-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$DIR/bin
OUT=$DIR/out
RES=$DIR/results
log() { echo "run.sh: $*" >&2; }

need=()
for c in /usr/bin/time:time pigz:pigz umoci:umoci skopeo:skopeo; do
	command -v "${c%%:*}" >/dev/null || need+=("${c#*:}")
done
if ((${#need[@]})); then
	log "installing ${need[*]}"
	sudo=; ((EUID == 0)) || sudo=sudo
	$sudo apt-get update -q >&2
	$sudo apt-get install -y -q "${need[@]}" >&2
fi

mkdir -p "$BIN" "$OUT"
rm -rf "$RES" && mkdir -p "$RES"
# cleanup removes the outputs and, unless KEEP=1, the inputs: gigabytes.
cleanup() {
	rm -rf "${OUT:?}"
	[[ ${KEEP:-0} == 1 ]] && return
	rm -rf "${DIR:?}"/{kernel,files,sparse,rootfs,many} "$DIR"/{kernel,kernel4g,rootfs,many}.json
}
trap cleanup EXIT
# want CASE says whether the run measures CASE.
want() { [[ -z $CASES || " $CASES " == *" $1 "* ]]; }
loads=("$(cut -d' ' -f1-3 /proc/loadavg)")
log "building bunix and bunix-bench"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$BIN/bunix" ./cmd/bunix &&
	CGO_ENABLED=0 go build -trimpath -o "$BIN/bunix-bench" ./bench/cmd/bunix-bench)
log "generating the inputs in $DIR (once)"
if want kernel || want kernel4g; then "$BIN/bunix-bench" gen kernel "$DIR"; fi
if want rootfs; then "$BIN/bunix-bench" gen rootfs "$DIR"; fi
if [[ " $CASES " == *" many "* ]]; then "$BIN/bunix-bench" gen many "$DIR"; fi
if want kernel4g; then mkdir -p "$DIR/sparse" && truncate -s 4G "$DIR/sparse/kernel"; fi

cat >"$DIR/kernel.json" <<EOF
{"name": "bench/kernel", "files": {"$DIR/kernel": "/unikernel/kernel", "$DIR/files": "/data"},
 "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/kernel"}}
EOF
cat >"$DIR/kernel4g.json" <<EOF
{"name": "bench/kernel4g", "files": {"$DIR/sparse/kernel": "/unikernel/kernel", "$DIR/files": "/data"},
 "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/kernel"}}
EOF
cat >"$DIR/rootfs.json" <<EOF
{"name": "bench/rootfs", "files": {"$DIR/rootfs": "/rootfs"},
 "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/rootfs/d000/f001"}}
EOF
cat >"$DIR/many.json" <<EOF
{"name": "bench/many", "files": {"$DIR/many/rootfs": "/rootfs"},
 "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/rootfs/d000/f001"}}
EOF

bb="$BIN/bunix-bench bunix"
k_copies="$DIR/kernel=/unikernel/kernel $DIR/files=/data"
r_copies="$DIR/rootfs=/rootfs"
m_copies="$DIR/many/rootfs=/rootfs"
# umoci + skopeo, as a user without bunix would: one umoci insert per copy,
# then skopeo copy to a docker-archive.
umoci() { echo "umoci init --layout $OUT/u && umoci new --image $OUT/u:latest $(
	for c in "$@"; do echo "&& umoci insert --image $OUT/u:latest ${c%%=*} ${c#*=}"; done
) && skopeo copy -q oci:$OUT/u:latest docker-archive:$OUT/u.tar:bench/umoci:latest"; }
umoci_k=$(umoci $k_copies)
umoci_r=$(umoci $r_copies)

# case|tool|runs (fast: every round; slow: the first only)|command
tools=(
	"kernel|tar cf (floor)|fast|tar cf $OUT/t.tar -C $DIR kernel files"
	"kernel|cp -r|fast|cp -r $DIR/kernel $DIR/files $OUT/"
	"kernel|bunix build, docker-archive|fast|$BIN/bunix build -f $DIR/kernel.json -o $OUT/b.tar"
	"kernel|bunix oci-archive|fast|$bb -format oci-archive -o $OUT/b.tar $k_copies"
	"kernel|bunix oci|fast|$bb -format oci -o $OUT/b $k_copies"
	"kernel|naive go-containerregistry|slow|$BIN/bunix-bench ggcr -o $OUT/g.tar $k_copies"
	"kernel|umoci + skopeo|slow|$umoci_k"
	"kernel|tar cf, pigz -6|fast|tar cf - -C $DIR kernel files | pigz -6 >$OUT/t.tar.gz"
	"kernel|bunix oci, gzip|fast|$bb -format oci -compression gzip -o $OUT/b $k_copies"
	"kernel|bunix docker-archive, gzip|fast|$bb -compression gzip -o $OUT/b.tar $k_copies"
	"kernel|bunix oci, zstd|fast|$bb -format oci -compression zstd -o $OUT/b $k_copies"
	"kernel4g|tar cf (floor)|fast|tar cf $OUT/t.tar -C $DIR sparse/kernel files"
	"kernel4g|bunix build, docker-archive|fast|$BIN/bunix build -f $DIR/kernel4g.json -o $OUT/b.tar"
	"rootfs|tar cf (floor)|fast|tar cf $OUT/t.tar -C $DIR rootfs"
	"rootfs|cp -r|fast|cp -r $DIR/rootfs $OUT/"
	"rootfs|bunix build, docker-archive|fast|$BIN/bunix build -f $DIR/rootfs.json -o $OUT/b.tar"
	"rootfs|bunix oci-archive|fast|$bb -format oci-archive -o $OUT/b.tar $r_copies"
	"rootfs|bunix oci|fast|$bb -format oci -o $OUT/b $r_copies"
	"rootfs|naive go-containerregistry|slow|$BIN/bunix-bench ggcr -o $OUT/g.tar $r_copies"
	"rootfs|umoci + skopeo|slow|$umoci_r"
)
if ((RATIO)); then
	tools=(
		"kernel|tar cf (floor)|fast|tar cf $OUT/t.tar -C $DIR kernel files"
		"kernel|tar cf, then sync|fast|tar cf $OUT/t.tar -C $DIR kernel files && sync -f $OUT/t.tar"
		"kernel|sha256sum of the files|fast|sha256sum $DIR/kernel $DIR/files/*"
		"kernel|sha256 (Go) of the files|fast|$BIN/bunix-bench sha256 $DIR/kernel $DIR/files"
		"kernel|bunix build, docker-archive|fast|$BIN/bunix build -f $DIR/kernel.json -o $OUT/b.tar"
		"kernel|bunix docker-archive, no sync|fast|$bb -no-sync -o $OUT/b.tar $k_copies"
		"kernel|bunix oci-archive|fast|$bb -format oci-archive -o $OUT/b.tar $k_copies"
		"kernel|bunix oci|fast|$bb -format oci -o $OUT/b $k_copies"
		"kernel|tar cf, pigz -6|fast|tar cf - -C $DIR kernel files | pigz -6 >$OUT/t.tar.gz"
		"kernel|bunix docker-archive, gzip|fast|$bb -compression gzip -o $OUT/b.tar $k_copies"
		"kernel|bunix oci, gzip|fast|$bb -format oci -compression gzip -o $OUT/b $k_copies"
		"kernel4g|tar cf (floor)|fast|tar cf $OUT/t.tar -C $DIR sparse/kernel files"
		"kernel4g|tar cf, then sync|fast|tar cf $OUT/t.tar -C $DIR sparse/kernel files && sync -f $OUT/t.tar"
		"kernel4g|sha256 (Go) of the files|fast|$BIN/bunix-bench sha256 $DIR/sparse/kernel $DIR/files"
		"kernel4g|bunix build, docker-archive|fast|$BIN/bunix build -f $DIR/kernel4g.json -o $OUT/b.tar"
		"kernel4g|bunix docker-archive, no sync|fast|$bb -no-sync -o $OUT/b.tar $DIR/sparse/kernel=/unikernel/kernel $DIR/files=/data"
		"many|tar cf (floor)|fast|tar cf $OUT/t.tar -C $DIR/many rootfs"
		"many|tar cf, then sync|fast|tar cf $OUT/t.tar -C $DIR/many rootfs && sync -f $OUT/t.tar"
		"many|sha256 (Go) of the files|fast|$BIN/bunix-bench sha256 $DIR/many/rootfs"
		"many|bunix build, docker-archive|fast|$BIN/bunix build -f $DIR/many.json -o $OUT/b.tar"
		"many|bunix docker-archive, no sync|fast|$bb -no-sync -o $OUT/b.tar $m_copies"
	)
fi

for ((round = 1; round <= RUNS; round++)); do
	log "round $round of $RUNS"
	for i in "${!tools[@]}"; do
		IFS='|' read -r case tool runs cmd <<<"${tools[$i]}"
		[[ $runs == slow && $round -gt 1 ]] && continue
		[[ -n $CASES && " $CASES " != *" $case "* ]] && continue
		rm -rf "${OUT:?}"/* && sync
		if ! /usr/bin/time -f '%e %M' -o "$RES/last" bash -c "$cmd" >/dev/null 2>"$RES/stderr"; then
			log "$case: $tool failed:" && cat "$RES/stderr" >&2 && exit 1
		fi
		tail -n1 "$RES/last" >>"$RES/$i"
	done
	loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
done
rm -rf "${OUT:?}"/*

# median FILE COLUMN prints the median of a column of numbers.
median() { cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A floor pigz synced wall rss
for i in "${!tools[@]}"; do
	IFS='|' read -r case tool _ _ <<<"${tools[$i]}"
	[[ -f $RES/$i ]] || continue
	wall[$case|$tool]=$(median "$RES/$i" 1)
	rss[$case|$tool]=$(median "$RES/$i" 2)
	[[ $tool == "tar cf (floor)" ]] && floor[$case]=${wall[$case|$tool]}
	[[ $tool == "tar cf, pigz -6" ]] && pigz[$case]=${wall[$case|$tool]}
	[[ $tool == "tar cf, then sync" ]] && synced[$case]=${wall[$case|$tool]}
done

echo "| case | tool | wall (s) | spread (s) | peak RSS (MiB) | × tar cf | × pigz -6 | × tar cf, then sync |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for i in "${!tools[@]}"; do
	IFS='|' read -r case tool _ _ <<<"${tools[$i]}"
	[[ -f $RES/$i ]] || continue
	wall=$(median "$RES/$i" 1)
	best=$(cut -d' ' -f1 "$RES/$i" | sort -n | head -n1)-$(cut -d' ' -f1 "$RES/$i" | sort -n | tail -n1)
	rss=$(median "$RES/$i" 2)
	vs_pigz=
	[[ $tool == *gzip* || $tool == *zstd* || $tool == *pigz* ]] && vs_pigz=$(awk -v a="$wall" -v b="${pigz[$case]}" 'BEGIN { printf "%.2f", a / b }')
	vs_sync=
	[[ -n ${synced[$case]:-} ]] && vs_sync=$(awk -v a="$wall" -v b="${synced[$case]}" 'BEGIN { printf "%.2f", a / b }')
	awk -v c="$case" -v t="$tool" -v w="$wall" -v b="$best" -v r="$rss" -v f="${floor[$case]}" -v p="$vs_pigz" -v s="$vs_sync" \
		'BEGIN { printf "| %s | %s | %.2f | %s | %.1f | %.2f | %s | %s |\n", c, t, w, b, r / 1024, w / f, p, s }'
done
echo
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM," \
	"$(findmnt -no FSTYPE,OPTIONS -T "$DIR" | tr -s ' ' | cut -d, -f1-3) on $(findmnt -no SOURCE -T "$DIR") ($(lsblk -dno SIZE,ROTA "$(findmnt -no SOURCE -T "$DIR")" 2>/dev/null | awk '{ print $1 ", rotational=" $2 }')), Linux $(uname -r), $(go version | cut -d' ' -f3)." \
	"bunix $(git -C "$ROOT" describe --always --dirty). Median of $RUNS interleaved rounds, and the spread from the fastest to the slowest (naive go-containerregistry and umoci: one run)."
loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
echo
echo "Load average (1, 5, 15 min) before, after each round, and at the end: $(printf '%s; ' "${loads[@]}")"
if ((RATIO)); then
	# target LABEL VALUE LIMIT UNIT prints a row of the targets' table.
	target() {
		awk -v l="$1" -v v="$2" -v m="$3" -v u="$4" 'BEGIN {
			if (v == "") { printf "| %s | not measured | |\n", l; exit }
			printf "| %s | %.2f%s | %s |\n", l, v, u, (v <= m ? "holds" : "misses") }'
	}
	# ratio CASE TOOL OF prints the median wall time of TOOL over OF.
	ratio() { if [[ -n ${wall[$1|$2]:-} && -n ${3:-} ]]; then awk -v a="${wall[$1|$2]}" -v b="$3" 'BEGIN { print a / b }'; fi; }
	mib() { if [[ -n ${rss[$1|$2]:-} ]]; then awk -v r="${rss[$1|$2]}" 'BEGIN { print r / 1024 }'; fi; }
	da="bunix build, docker-archive"
	echo
	echo "Targets (issue 25), from the medians above:"
	echo
	echo "| target | measured | |"
	echo "|---|---:|---|"
	target "docker-archive, 1 GiB kernel + 100 files: ≤ 1.15× tar cf" "$(ratio kernel "$da" "${floor[kernel]:-}")" 1.15 ×
	target "the same, against tar cf then sync (the same durability)" "$(ratio kernel "$da" "${synced[kernel]:-}")" 1.15 ×
	target "the same, bunix without its sync, against tar cf" "$(ratio kernel "bunix docker-archive, no sync" "${floor[kernel]:-}")" 1.15 ×
	target "docker-archive, 1 GiB: peak RSS ≤ 32 MiB" "$(mib kernel "$da")" 32 " MiB"
	target "docker-archive, 4 GiB kernel: ≤ 1.15× tar cf" "$(ratio kernel4g "$da" "${floor[kernel4g]:-}")" 1.15 ×
	target "the same, against tar cf then sync" "$(ratio kernel4g "$da" "${synced[kernel4g]:-}")" 1.15 ×
	target "the same, bunix without its sync, against tar cf" "$(ratio kernel4g "bunix docker-archive, no sync" "${floor[kernel4g]:-}")" 1.15 ×
	target "docker-archive, 4 GiB: peak RSS ≤ 32 MiB" "$(mib kernel4g "$da")" 32 " MiB"
	target "100,000 small files: ≤ 1.5× tar cf" "$(ratio many "$da" "${floor[many]:-}")" 1.5 ×
	target "the same, against tar cf then sync" "$(ratio many "$da" "${synced[many]:-}")" 1.5 ×
	target "the same, bunix without its sync, against tar cf" "$(ratio many "bunix docker-archive, no sync" "${floor[many]:-}")" 1.5 ×
	target "gzip, docker-archive: ≤ 0.43× tar cf, pigz -6" "$(ratio kernel "bunix docker-archive, gzip" "${pigz[kernel]:-}")" 0.43 ×
	target "gzip, oci: ≤ 0.43× tar cf, pigz -6" "$(ratio kernel "bunix oci, gzip" "${pigz[kernel]:-}")" 0.43 ×
	peak=$(printf '%s\n' "${loads[@]}" | cut -d' ' -f1 | sort -n | tail -n1)
	if awk -v l="$peak" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
		echo
		echo "NOT A FAIR MEASURE: the 1-minute load average reached $peak on $(nproc) cores during the run;" \
			"other work shared the cores and the disk. Run again on a quiet machine."
	fi
fi
if [[ ${NIX:-1} != 0 ]] && command -v nix-build >/dev/null; then
	echo
	"$ROOT/bench/nix.sh"
fi
