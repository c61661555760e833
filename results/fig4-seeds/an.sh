#!/usr/bin/env bash
# every fig4-seeds snapshot (and the final model) x 3 replicas: block, substitute, answers
set -e
M=$1 RUN=$2 OUT=$3
for src in $RUN/snapshots/epoch-* $RUN; do
  e=$(basename $src); [ "$src" = "$RUN" ] && e=epoch-210
  for r in 0 1 2; do
    for a in block substitute answers; do
      $M analyze $a $src --replica $r --out $OUT/$e/replica-$r >/dev/null
    done
  done
done
