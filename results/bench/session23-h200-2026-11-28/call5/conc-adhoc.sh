#!/usr/bin/env bash
# Session 19 (epochs from EPOCHS since session 23), ad hoc: all six fig3 depth groups (216 cells, R = 36 each) on one GPU with W
# worker threads (--devices G repeated W times), 2 and then 5 epochs with fig3's own
# evaluation (every epoch): the wall time's slope per epoch projects the 210-epoch sweep.
set -u
g=${1:-1} w=${2:-3} out=${3:-runs/conc}
mkdir -p /tmp/conc$g $out && xz -dc bin-xz/msym.xz >/tmp/conc$g/msym && chmod +x /tmp/conc$g/msym
M=/tmp/conc$g/msym
devs=$(printf "$g,%.0s" $(seq $w)) devs=${devs%,}
$M info | head -n 1
for e in ${EPOCHS:-2 5}; do
    t0=$(date +%s%N)
    $M sweep configs/fig3.toml --devices $devs --set train.epochs=$e --force --out /tmp/conc$g/e$e 2>&1 |
        while IFS= read -r line; do echo "$((($(date +%s%N) - t0) / 1000000)) ms: $line"; done >$out/w$w-e$e.log
    rc=${PIPESTATUS[0]}
    echo "workers $w (devices $devs), $e epochs: $((($(date +%s%N) - t0) / 1000000)) ms wall, exit $rc; train_seconds" \
        $(python3 -c "import glob, json; print(' '.join('%.1f' % json.load(open(p))['train_seconds'] for p in sorted(glob.glob('/tmp/conc$g/e$e/runs/*/summary.json'))))")
done
