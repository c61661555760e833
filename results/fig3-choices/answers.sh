#!/usr/bin/env bash
# What the epoch-210 models of this folder answer on pair 43 (`msym analyze answers`, every
# replica of every choice): writes answers43.csv here. The checkpoints are not committed
# (6.5 MB a run); pass the folder holding the four sweep directories as the machine left
# them (fig3c-CHOICE/runs/<id>/checkpoint.safetensors), e.g. after retraining with the
# commands of README.md. Usage: results/fig3-choices/answers.sh SWEEPS_DIR [MSYM]
set -euo pipefail
src=$1 msym=${2:-msym}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "choice,replica,seed,gamma,offset,count,n,share,rules" >"$tmp/all.csv"
for choice in seq9 fanin tied lr2e-4; do
    run=$(ls -d "$src"/fig3c-$choice/runs/*/)
    n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$run/cells.json")
    for ((k = 0; k < n; k++)); do
        "$msym" analyze answers "$run" --replica $k --out "$tmp/$choice-$k" >/dev/null
        python3 - "$run/cells.json" $k $choice "$tmp/$choice-$k/answers.csv" >>"$tmp/all.csv" <<'PY'
import csv, json, sys
cells, k, choice, path = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = cells[k]
for r in csv.DictReader(open(path)):
    if r["pair"] == "43":
        print(",".join([choice, str(k), str(c["seed"]), str(c["init"]["gamma"]), r["offset"], r["count"], r["n"], r["share"], r["rules"]]))
PY
    done
done
mv "$tmp/all.csv" "$here/answers43.csv"
echo "wrote $here/answers43.csv"
