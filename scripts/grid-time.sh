#!/usr/bin/env bash
# Issue 8's sweep time on one GPU: all six fig3 depth groups (216 cells, R = 36 each) with W
# worker threads on GPU G (--devices G repeated W times), trained for each epoch count of
# EPOCHS (default "2 5 10") with fig3's own evaluation (every epoch). The least-squares slope
# of the wall times over the epoch counts is the sweep's seconds an epoch; 210 of them plus
# the intercept (start-up, kernel compilation) project the whole sweep. Run on the device
# machine from the repository root, with bin-xz/msym.xz carried (scripts/prepare-device.sh).
# Before session 29 this was an ad hoc script copied in for the call
# (results/bench/session23-h200-2026-11-28/call5/conc-adhoc.sh).
#   scripts/grid-time.sh [G] [W] [OUT]      e.g. EPOCHS="2 5 10" scripts/grid-time.sh 0 3 runs/grid
set -u
g=${1:-0} w=${2:-3} out=${3:-runs/grid}
mkdir -p /tmp/grid$g $out && xz -dc bin-xz/msym.xz >/tmp/grid$g/msym && chmod +x /tmp/grid$g/msym
M=/tmp/grid$g/msym
devs=$(printf "$g,%.0s" $(seq $w)) devs=${devs%,}
$M info | head -n 1 | tee $out/info.txt
: >$out/times.csv
for e in ${EPOCHS:-2 5 10}; do
    t0=$(date +%s%N)
    $M sweep configs/fig3.toml --devices $devs --set train.epochs=$e --force --out /tmp/grid$g/e$e 2>&1 |
        while IFS= read -r line; do echo "$((($(date +%s%N) - t0) / 1000000)) ms: $line"; done >$out/w$w-e$e.log
    rc=${PIPESTATUS[0]}
    ms=$((($(date +%s%N) - t0) / 1000000))
    echo "workers $w (devices $devs), $e epochs: $ms ms wall, exit $rc"
    [ "$rc" = 0 ] && echo "$e,$ms" >>$out/times.csv
    cp /tmp/grid$g/e$e/phase.csv $out/phase-e$e.csv 2>/dev/null || true
done
python3 - $out/times.csv <<'PY'
import sys
rows = [tuple(map(float, l.split(","))) for l in open(sys.argv[1]) if l.strip()]
if len(rows) < 2:
    sys.exit("grid-time: fewer than two finished epoch counts, no slope")
n = len(rows)
mx = sum(e for e, _ in rows) / n
my = sum(t for _, t in rows) / n / 1000
slope = sum((e - mx) * (t / 1000 - my) for e, t in rows) / sum((e - mx) ** 2 for e, _ in rows)
icpt = my - slope * mx
total = icpt + 210 * slope
print(f"grid-time: {slope:.2f} s an epoch, intercept {icpt:.1f} s; 210 epochs: {total:.0f} s = {total / 3600:.2f} h")
PY
