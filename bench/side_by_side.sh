#!/usr/bin/env bash
# tapegrad against PyTorch on the workloads of bench/WORKLOADS.md, every cell a
# separate process and the two systems interleaved round by round, so that
# the noise of a shared machine falls on both alike. Prints the RESULT lines
# and, at the end, the median over rounds of each cell.
#
#   cargo build --release --example workloads
#   pip install torch numpy                       # once (a few GB)
#   bench/side_by_side.sh                         # REPS=3, threads 1 and 2, w1..w5
#   REPS=5 WORKLOADS="w2 w3" THREADS=2 bench/side_by_side.sh
set -u
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
THREADS=${THREADS:-"1 2"}
WORKLOADS=${WORKLOADS:-"w1 w2 w3 w4 w5"}
PYTHON=${PYTHON:-python3}
BIN=target/release/examples/workloads
[ -x "$BIN" ] || { echo "build it first: cargo build --release --example workloads" >&2; exit 1; }
HAVE_TORCH=1
"$PYTHON" -c "import torch" 2>/dev/null || { HAVE_TORCH=0; echo "# PyTorch not found for $PYTHON: tapegrad only" >&2; }
LOG=$(mktemp)
for rep in $(seq 1 "$REPS"); do
  for w in $WORKLOADS; do
    for t in $THREADS; do
      RAYON_NUM_THREADS=$t "$BIN" "$w" | tee -a "$LOG"
      if [ "$HAVE_TORCH" = 1 ]; then
        OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t "$PYTHON" bench/torch_workloads.py "$w" --threads "$t" | tee -a "$LOG"
      fi
    done
  done
done
echo
echo "# median over $REPS rounds of each process's median"
"$PYTHON" - "$LOG" <<'PY'
import re, statistics, sys
cells = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        cells.setdefault((kv["workload"], kv["threads"], kv["system"], kv["unit"]), []).append(float(kv["median"]))
for (w, t, s, unit), v in sorted(cells.items()):
    print(f"{w:10} threads={t} {s:9} {statistics.median(v):12.2f} {unit}  (runs: {', '.join(f'{x:.1f}' for x in v)})")
PY
rm -f "$LOG"
