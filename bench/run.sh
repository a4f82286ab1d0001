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

RUNS=${RUNS:-5}
CASES=${CASES:-}
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
log "building bunix and bunix-bench"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$BIN/bunix" ./cmd/bunix &&
	CGO_ENABLED=0 go build -trimpath -o "$BIN/bunix-bench" ./bench/cmd/bunix-bench)
log "generating the inputs in $DIR (once)"
"$BIN/bunix-bench" gen kernel "$DIR"
"$BIN/bunix-bench" gen rootfs "$DIR"
mkdir -p "$DIR/sparse" && truncate -s 4G "$DIR/sparse/kernel"

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

bb="$BIN/bunix-bench bunix"
k_copies="$DIR/kernel=/unikernel/kernel $DIR/files=/data"
r_copies="$DIR/rootfs=/rootfs"
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
done
rm -rf "${OUT:?}"/*

# median FILE COLUMN prints the median of a column of numbers.
median() { cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A floor pigz
for i in "${!tools[@]}"; do
	IFS='|' read -r case tool _ _ <<<"${tools[$i]}"
	[[ -f $RES/$i ]] || continue
	[[ $tool == "tar cf (floor)" ]] && floor[$case]=$(median "$RES/$i" 1)
	[[ $tool == "tar cf, pigz -6" ]] && pigz[$case]=$(median "$RES/$i" 1)
done

echo "| case | tool | wall (s) | spread (s) | peak RSS (MiB) | × tar cf | × pigz -6 |"
echo "|---|---|---:|---:|---:|---:|---:|"
for i in "${!tools[@]}"; do
	IFS='|' read -r case tool _ _ <<<"${tools[$i]}"
	[[ -f $RES/$i ]] || continue
	wall=$(median "$RES/$i" 1)
	best=$(cut -d' ' -f1 "$RES/$i" | sort -n | head -n1)-$(cut -d' ' -f1 "$RES/$i" | sort -n | tail -n1)
	rss=$(median "$RES/$i" 2)
	vs_pigz=
	[[ $tool == *gzip* || $tool == *zstd* || $tool == *pigz* ]] && vs_pigz=$(awk -v a="$wall" -v b="${pigz[$case]}" 'BEGIN { printf "%.2f", a / b }')
	awk -v c="$case" -v t="$tool" -v w="$wall" -v b="$best" -v r="$rss" -v f="${floor[$case]}" -v p="$vs_pigz" \
		'BEGIN { printf "| %s | %s | %.2f | %s | %.1f | %.2f | %s |\n", c, t, w, b, r / 1024, w / f, p }'
done
echo
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM," \
	"$(findmnt -no FSTYPE,OPTIONS -T "$DIR" | tr -s ' ' | cut -d, -f1-3) on $(findmnt -no SOURCE -T "$DIR") ($(lsblk -dno SIZE,ROTA "$(findmnt -no SOURCE -T "$DIR")" 2>/dev/null | awk '{ print $1 ", rotational=" $2 }')), Linux $(uname -r), $(go version | cut -d' ' -f3)." \
	"bunix $(git -C "$ROOT" describe --always --dirty). Median of $RUNS interleaved rounds, and the spread from the fastest to the slowest (naive go-containerregistry and umoci: one run)."
if [[ ${NIX:-1} != 0 ]] && command -v nix-build >/dev/null; then
	echo
	"$ROOT/bench/nix.sh"
fi
