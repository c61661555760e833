#!/usr/bin/env bash
# Session 19, ad hoc: fig3 depth groups one after another (one worker) against two or three
# at once on one GPU (--devices G,G: worker threads, each on its own CUDA stream), 4 epochs.
set -u
g=${1:-1} out=${2:-runs/conc}
mkdir -p /tmp/conc $out && xz -dc bin-xz/msym.xz >/tmp/conc/msym && chmod +x /tmp/conc/msym
M=/tmp/conc/msym
$M info | head -n 1
run() { # NAME DEVICES DEPTHS
    local t0 rc
    t0=$(date +%s%N)
    $M sweep configs/fig3.toml --devices $2 --only model.depth=$3 --set train.epochs=4 \
        --set eval.every_epochs=4 --force --out /tmp/conc/$1 >$out/$1.log 2>&1
    rc=$?
    echo "$1: devices $2, depths $3: $((($(date +%s%N) - t0) / 1000000)) ms wall, exit $rc"
}
run warm $g 2
run one-a $g 4,5
run two-a $g,$g 4,5
run one-b $g 4,5
run two-b $g,$g 4,5
run three $g,$g,$g 3,4,5
run one-c $g 3,4,5
