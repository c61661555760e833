#!/usr/bin/env bash
# Session 19, ad hoc: fig3 depth groups one after another (one worker) against two or three
# at once on one GPU (--devices G,G: worker threads, each on its own CUDA stream), 8 epochs;
# each group's train_seconds (its run's summary.json) beside the wall time.
set -u
g=${1:-1} out=${2:-runs/conc}
mkdir -p /tmp/conc $out && xz -dc bin-xz/msym.xz >/tmp/conc/msym && chmod +x /tmp/conc/msym
M=/tmp/conc/msym
$M info | head -n 1
run() { # NAME DEVICES DEPTHS EPOCHS
    local t0 rc
    t0=$(date +%s%N)
    $M sweep configs/fig3.toml --devices $2 --only model.depth=$3 --set train.epochs=$4 \
        --set eval.every_epochs=$4 --force --out /tmp/conc/$1 2>&1 |
        while IFS= read -r line; do echo "$((($(date +%s%N) - t0) / 1000000)) ms: $line"; done >$out/$1.log
    rc=${PIPESTATUS[0]}
    echo "$1: devices $2, depths $3, $4 epochs: $((($(date +%s%N) - t0) / 1000000)) ms wall, exit $rc; train_seconds" \
        $(python3 -c "import glob, json; print(' '.join('%.1f' % json.load(open(p))['train_seconds'] for p in sorted(glob.glob('/tmp/conc/$1/runs/*/summary.json'))))")
}
run warm $g 2 1
run one-a $g 4,5 8
run two-a $g,$g 4,5 8
run three $g,$g,$g 3,4,5 8
run one-c $g 3,4,5 8
