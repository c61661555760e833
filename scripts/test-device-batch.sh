#!/usr/bin/env bash
# Tests of scripts/device-batch.sh's local parts, on a mock tree in a temporary folder (no
# GPU, no binary): `stage` must never replace what the machine has, must add what it lacks
# with run folders whole, and `split` must put every run in exactly one part of at most
# the given size, and `resume` must bring back exactly the unfinished runs over several calls;
# a JOB+fused job must set each speed path as its check decided, JOB+plain turn all off.
# A replaced runs/ folder cost a fig3 row at epoch 144 (2026-11-26), so
# these are run by CI (.ci/run). Exits 1 at the first failed check, naming it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "test-device-batch: FAIL: $1" >&2; exit 1; }
mkdir -p "$t/repo/scripts"
cp "$here/scripts/device-batch.sh" "$t/repo/scripts/"
cd "$t/repo"
run() { bash scripts/device-batch.sh "$@"; }

# stage, first call: the machine has nothing, the carried folder moves in whole.
mkdir -p carry/s/runs/a carry/s/cells/c1
echo plan >carry/s/sweep.json
echo a-ckpt >carry/s/runs/a/checkpoint.safetensors
echo c1 >carry/s/cells/c1/summary.json
run stage >/dev/null
[ "$(cat runs/s/runs/a/checkpoint.safetensors)" = a-ckpt ] || fail "first stage moves the folder in"
[ ! -e carry/s ] || fail "first stage moves, not copies"

# The machine trains on: its run a is newer than anything carried later.
echo a-newer >runs/s/runs/a/checkpoint.safetensors

# stage, second call: a second part adds run b and cell c2, never touches run a.
mkdir -p carry/s/runs/a carry/s/runs/b carry/s/cells/c2
echo a-old >carry/s/runs/a/checkpoint.safetensors
echo a-stray >carry/s/runs/a/extra.json
echo b-ckpt >carry/s/runs/b/checkpoint.safetensors
echo c2 >carry/s/cells/c2/summary.json
echo other-plan >carry/s/sweep.json
run stage >/dev/null
[ "$(cat runs/s/runs/a/checkpoint.safetensors)" = a-newer ] || fail "stage replaced a run the machine has"
[ ! -e runs/s/runs/a/extra.json ] || fail "stage mixed files into a run folder the machine has"
[ "$(cat runs/s/runs/b/checkpoint.safetensors)" = b-ckpt ] || fail "stage did not add the missing run"
[ "$(cat runs/s/cells/c2/summary.json)" = c2 ] || fail "stage did not add the missing cell"
[ "$(cat runs/s/sweep.json)" = plan ] || fail "stage replaced a file the machine has"

# stage, a part prepared as carry2/: merged like carry/.
mkdir -p carry2/s/runs/c
echo c-ckpt >carry2/s/runs/c/checkpoint.safetensors
run stage >/dev/null
[ "$(cat runs/s/runs/c/checkpoint.safetensors)" = c-ckpt ] || fail "stage did not take the part in carry2/"
[ "$(cat runs/s/runs/a/checkpoint.safetensors)" = a-newer ] || fail "stage of carry2/ replaced a run"

# split: three unfinished runs of 3, 2 and 2 MiB and one finished run in parts of 4 MiB.
src=$t/state/fig
mkdir -p "$src/cells/c" "$src/runs/big" "$src/runs/mid" "$src/runs/mid2" "$src/runs/done"
echo '{}' >"$src/sweep.json"
echo '{"finished": false}' | tee "$src/runs/big/summary.json" "$src/runs/mid/summary.json" \
    >"$src/runs/mid2/summary.json"
echo '{"finished": true}' >"$src/runs/done/summary.json"
head -c $((3 << 20)) /dev/zero >"$src/runs/big/checkpoint.safetensors"
head -c $((2 << 20)) /dev/zero >"$src/runs/mid/checkpoint.safetensors"
head -c $((2 << 20)) /dev/zero >"$src/runs/mid2/checkpoint.safetensors"
head -c $((2 << 20)) /dev/zero >"$src/runs/done/checkpoint.safetensors"
run split "$src" 4 "$t/parts" >/dev/null
for r in big mid mid2 done; do
    n=$(ls -d "$t"/parts/*/fig/runs/$r 2>/dev/null | wc -l)
    [ "$n" = 1 ] || fail "split put run $r in $n parts"
done
[ ! -e "$t/parts/1/fig/runs/done/checkpoint.safetensors" ] || fail "split carried a finished run's checkpoint"
[ -e "$t/parts/1/fig/sweep.json" ] || fail "split left the top level out of part 1"
for p in "$t"/parts/*; do
    [ "$(du -sb "$p" | cut -f1)" -le $((4 << 20)) ] || fail "split made $p larger than 4 MiB"
done
run split "$src" 2.5 "$t/parts2" >/dev/null 2>&1 && fail "split accepted a run larger than a part"
[ ! -e "$t/parts2" ] || fail "a refused split wrote something"
run split "$src" 4 "$t/parts" >/dev/null 2>&1 && fail "split wrote over an existing folder"
# resume: the unfinished runs of runs/fig (the split state above, staged), in 1 MB parts over
# two calls; joined, they are those runs' folders, byte for byte, and nothing else.
mkdir -p runs/fig && cp -r "$src/runs" runs/fig/
head -c $((3 << 20)) /dev/urandom >runs/fig/runs/big/checkpoint.safetensors
mkdir -p "$t/call1" "$t/call2" "$t/call3" "$t/joined"
OUT=$t/call1 PART_MB=1 run resume fig >/dev/null
OUT=$t/call2 PART_MB=1 run resume fig 4 >/dev/null
OUT=$t/call3 PART_MB=1 run resume fig 8 >/dev/null
# 7 MB of checkpoints and the tar's headers: 8 parts, 4 a call
[ "$(ls "$t/call1" | wc -l)" = 4 ] || fail "resume returned other than 4 parts in a call"
[ "$(ls "$t/call2" | wc -l)" = 4 ] || fail "resume's second call did not bring parts 4-7"
[ "$(ls "$t/call3" | wc -l)" = 0 ] || fail "resume returned parts past the last"
cat "$t"/call1/fig-resume.tar.* "$t"/call2/fig-resume.tar.* | tar xf - -C "$t/joined" ||
    fail "the parts of two calls do not join into one tar"
for r in big mid mid2; do
    cmp -s runs/fig/runs/$r/checkpoint.safetensors "$t/joined/runs/fig/runs/$r/checkpoint.safetensors" ||
        fail "resume lost run $r's checkpoint"
done
[ ! -e "$t/joined/runs/fig/runs/done" ] || fail "resume packed a finished run"
# pack: the logs, and the unfinished runs' checkpoints as resume parts where they fit (here
# 7 MB in one 15 MB part); where they do not (1 MB parts: 8 files), only the logs and a note.
mkdir -p "$t/pack1" "$t/pack2" "$t/joined2" runs/logs
echo "a log" >runs/logs/fig.log
OUT=$t/pack1 run pack >/dev/null
[ -e "$t/pack1/0-runs.tgz.partaa" ] || fail "pack wrote no logs"
[ "$(ls "$t/pack1" | grep -c fig-resume)" = 1 ] || fail "pack did not add the unfinished runs' checkpoints that fit"
tar xzf "$t/pack1/0-runs.tgz.partaa" -O runs/logs/fig.log | grep -q "a log" || fail "pack lost a log"
cat "$t"/pack1/fig-resume.tar.* | tar xf - -C "$t/joined2" || fail "pack's resume part is no tar"
cmp -s runs/fig/runs/big/checkpoint.safetensors "$t/joined2/runs/fig/runs/big/checkpoint.safetensors" ||
    fail "pack's resume part lost run big's checkpoint"
[ ! -e "$t/joined2/runs/fig/runs/done" ] || fail "pack's resume part holds a finished run"
# unpack: what pack returned becomes the next call's carry/fig, checkpoints included
run unpack "$t/pack1" fig >/dev/null || fail "unpack failed on pack's own files"
cmp -s runs/fig/runs/big/checkpoint.safetensors carry/fig/runs/big/checkpoint.safetensors ||
    fail "unpack lost run big's checkpoint"
[ -e carry/fig/runs/done/summary.json ] || fail "unpack lost the finished run's metrics"
[ ! -e carry/fig/logs ] && [ ! -e carry/logs ] || fail "unpack mixed the logs into carry"
run unpack "$t/pack1" fig >/dev/null 2>&1 && fail "unpack wrote over an existing carry/fig"
rm -rf carry/fig
OUT=$t/pack2 PART_MB=1 run pack >"$t/pack2.txt"
[ "$(ls "$t/pack2" | grep -c resume)" = 0 ] || fail "pack added resume parts past the call's 8 files"
grep -q "unfinished runs in fig" "$t/pack2.txt" || fail "pack did not say which unfinished runs stay behind"
# box: one call alone stages what it carries, trains, and returns the logs and the unfinished
# runs' checkpoints; unpack makes them the next call's carry. A mock msym stands in for the
# binary: `reproduce` leaves one finished and one unfinished run (with a checkpoint).
mkdir -p "$t/bin" "$t/box"
cat >"$t/bin/msym" <<'MOCK'
#!/usr/bin/env bash
echo "${MSYM_SSD_UNITS:+units=$MSYM_SSD_UNITS }${MSYM_MATMUL_KERNEL:+kernel=$MSYM_MATMUL_KERNEL }${MSYM_PROJ_CONV_GRADS:+grads=$MSYM_PROJ_CONV_GRADS }${MSYM_SSD_SCORES:+scores=$MSYM_SSD_SCORES }${MSYM_GRAD_BATCHES:+gradb=$MSYM_GRAD_BATCHES }${MSYM_FUSED_DT:+dt=$MSYM_FUSED_DT }${MSYM_ROW_VIEWS:+views=$MSYM_ROW_VIEWS }${MSYM_FUSED_GUARD:+guard=$MSYM_FUSED_GUARD }${MSYM_IN_PROJ_ROWS:+rows=$MSYM_IN_PROJ_ROWS }${MSYM_FUSED_LINEAR:+linear=$MSYM_FUSED_LINEAR }${MSYM_GROUP_SUMS:+sums=$MSYM_GROUP_SUMS }${MSYM_LAST_POSITION:+lastpos=$MSYM_LAST_POSITION }$*" >>"$MOCK_LOG"
case $1 in
reproduce)
    out=${@: -1}
    mkdir -p $out/runs/done $out/runs/open
    echo '{"finished": true}' >$out/runs/done/summary.json
    echo '{"epoch": 210}' >$out/runs/done/checkpoint.json
    echo '{"epoch": 5}' >$out/runs/open/checkpoint.json
    echo '{"finished": false}' >$out/runs/open/summary.json
    head -c 4096 /dev/urandom >$out/runs/open/checkpoint.safetensors
    echo "time limit reached; rerun the same command to continue" ;;
progress) echo "1 of 2 runs finished" ;;
bench) sleep ${MOCK_SLEEP:-2}; mkdir -p ${@: -1}; echo table >${@: -1}/bench.md ;;
esac
MOCK
chmod +x "$t/bin/msym"
rm -rf runs carry carry2
mkdir -p carry/fig3 && echo plan >carry/fig3/sweep.json
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log OUT=$t/box T0=$(date +%s) run box 300 0 fig3-d2@0,1 --side 3 bench-full >"$t/box.txt" 2>&1 ||
    fail "box failed: $(tail -n 3 "$t/box.txt")"
# the side queue ran its job on its GPU, and pack waited for it (the mock bench takes 2 s)
grep -q "^bench --device cuda:3 --out runs/bench-full" "$t/mock.log" || fail "box --side did not run its job on GPU 3: $(cat "$t/mock.log")"
tar xzf "$t/box/0-runs.tgz.partaa" -O runs/bench-full/bench.md 2>/dev/null | grep -q table ||
    fail "box packed before its side job finished"
grep -q "^reproduce fig3 --devices 0,1 .*--only model.depth=2 --time-limit [45]\.[0-9]* --out runs/fig3" "$t/mock.log" ||
    fail "box did not run the job until its deadline: $(cat "$t/mock.log")"
[ "$(cat runs/fig3/sweep.json)" = plan ] || fail "box did not stage the carried state"
ls "$t/box"/fig3-resume.tar.* >/dev/null 2>&1 || fail "box did not return the unfinished run's checkpoint"
run unpack "$t/box" fig3 >/dev/null || fail "unpack refused box's files"
cmp -s runs/fig3/runs/open/checkpoint.safetensors carry/fig3/runs/open/checkpoint.safetensors ||
    fail "box and unpack lost the unfinished run's checkpoint"
[ "$(cat carry/fig3/sweep.json)" = plan ] || fail "unpack lost the sweep's top level"
# unpack into a results folder: the call's state replaces its runs, its README stays, and
# no carry copy is left
res=$t/results/fig3
mkdir -p "$res/runs/stale" && echo readme >"$res/README.md" && rm -rf carry
run unpack "$t/box" fig3 "$res" >/dev/null || fail "unpack into a results folder failed"
cmp -s runs/fig3/runs/open/checkpoint.safetensors "$res/runs/open/checkpoint.safetensors" ||
    fail "unpack into a results folder lost the checkpoint"
[ ! -e "$res/runs/stale" ] && [ "$(cat "$res/README.md")" = readme ] && [ "$(cat "$res/sweep.json")" = plan ] ||
    fail "unpack into a results folder kept stale runs or lost its README or plan"
[ ! -e carry/fig3 ] || fail "unpack into a results folder left a carry copy"
[ ! -e "$res/runs/done/checkpoint.json" ] && [ -e "$res/runs/open/checkpoint.json" ] ||
    fail "unpack into a results folder kept a finished run's checkpoint.json or lost an unfinished one's"
run unpack "$t/box" fig3 "$t/nowhere" >/dev/null 2>&1 && fail "unpack into a missing folder did not refuse"
rm -rf carry runs
mkdir -p runs
# box on a fresh machine that carries nothing, while results/fig3 holds committed runs: it
# refuses before training (2026-11-27, a call that trained three fig3 groups again from epoch
# 0), names the job and the way out, and FRESH=1 trains anyway
mkdir -p results/fig3/runs/done "$t/box-fresh" "$t/box-warm"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log OUT=$t/box-fresh T0=$(date +%s) run box 300 0 fig3-d7@0 >"$t/fresh.txt" 2>&1 &&
    fail "box trained fig3 from nothing on a machine without its state"
grep -q "job fig3-d7@0 would train runs/fig3 from nothing.*prepare-device.sh --no-build results/fig3 fig3" "$t/fresh.txt" ||
    fail "box's refusal did not say why: $(cat "$t/fresh.txt")"
[ ! -s "$t/mock.log" ] || fail "box ran msym before refusing: $(cat "$t/mock.log")"
FRESH=1 MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log OUT=$t/box-fresh T0=$(date +%s) run box 300 0 fig3-d7@0 >"$t/fresh.txt" 2>&1 ||
    fail "box with FRESH=1 failed: $(tail -n 3 "$t/fresh.txt")"
grep -q "^reproduce fig3 .*--out runs/fig3" "$t/mock.log" || fail "box with FRESH=1 did not train"
# the same box with the state staged (a warm machine's runs/fig3) trains without FRESH
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log OUT=$t/box-warm T0=$(date +%s) run box 300 0 fig3-d7@0 >"$t/fresh.txt" 2>&1 ||
    fail "box refused a machine that has runs/fig3: $(tail -n 3 "$t/fresh.txt")"
rm -rf results runs
mkdir -p runs
# box checks every job's command line before it runs any: a one-run job given two GPUs
# (2026-11-27: `fig3e-tied@0,0` became `--device cuda:0,0`, refused by msym 2.5 minutes in)
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log OUT=$t/box-warm T0=$(date +%s) run box 300 0 bench-full fig3e-tied@0,0 >"$t/bad.txt" 2>&1 &&
    fail "box accepted a one-run job on two GPUs"
grep -q "job fig3e-tied trains on one GPU" "$t/bad.txt" || fail "box's refusal of fig3e-tied@0,0 did not say why: $(cat "$t/bad.txt")"
[ ! -s "$t/mock.log" ] || fail "box ran msym before refusing a bad job: $(cat "$t/mock.log")"
# a job without a time limit of its own (a check, a bench) that runs past the deadline is
# stopped there and box still packs (2026-11-27: autotune-check ran on, the call's limit
# killed everything and its whole output was lost)
rm -rf runs && mkdir -p runs "$t/box-late"
start=$(date +%s)
MOCK_SLEEP=120 MIN_JOB_S=0 KILL_GRACE_S=1 MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log OUT=$t/box-late T0=$start \
    run box 2 0 bench-full >"$t/late.txt" 2>&1 || fail "box with a late job failed: $(tail -n 3 "$t/late.txt")"
[ $(($(date +%s) - start)) -lt 60 ] || fail "box waited for a job past its deadline"
grep -q "bench-full stopped at the call's deadline" runs/logs/bench-full.log || fail "the stopped job's log does not say so"
ls "$t/box-late"/0-runs.tgz.* >/dev/null 2>&1 || fail "box did not pack after stopping a late job"
rm -rf runs && mkdir -p runs

# prepare-device (here, before a session): a committed results folder becomes carry/NAME with
# its finished runs and its checkpointed unfinished ones; an unfinished run without a
# checkpoint and the compare outputs stay out.
src=$t/results/row
mkdir -p "$src/runs/done" "$src/runs/ckpt" "$src/runs/bare" "$src/cells/c"
echo '{"finished": true}' >"$src/runs/done/summary.json"
echo '{"finished": false}' | tee "$src/runs/ckpt/summary.json" >"$src/runs/bare/summary.json"
echo w >"$src/runs/ckpt/checkpoint.safetensors"
echo plan >"$src/sweep.json"
echo r >"$src/README.md"
cp "$here/scripts/prepare-device.sh" scripts/
bash scripts/prepare-device.sh --no-build "$src" row >/dev/null || fail "prepare-device failed"
[ -e carry/row/runs/done/summary.json ] && [ -e carry/row/runs/ckpt/checkpoint.safetensors ] ||
    fail "prepare-device left out a finished or a checkpointed run"
[ ! -e carry/row/runs/bare ] || fail "prepare-device carried an unfinished run without a checkpoint"
[ ! -e carry/row/README.md ] && [ -e carry/row/sweep.json ] || fail "prepare-device carried the wrong top-level files"
bash scripts/prepare-device.sh --no-build "$src" row >/dev/null 2>&1 && fail "prepare-device wrote over carry/row"
rm -rf carry

# JOB+fused: each speed path as its check decided (=1 adopted, =0 kept out), the binary's
# default where unchecked; JOB+plain: every path off.
run cmd fig3-d3+fused 5 0,0 | grep -q "MSYM_" && fail "+fused set a switch with no verdict"
run cmd fig3-d3+fused 5 0,0 | grep -q -- "--only model.depth=3 " || fail "+fused lost the job's own command"
mkdir -p runs/fused-check
echo "keep fused: R = 9 100.0 vs plain 101.0" >runs/fused-check/verdict.txt
run cmd fig3-d3+fused 5 0,0 | grep -q "^env MSYM_FUSED_SSD=0 /.*reproduce fig3 " ||
    fail "+fused did not turn off the kernels the verdict kept out"
echo "adopt fused: R = 9 120.0 vs plain 100.0" >runs/fused-check/verdict.txt
run cmd fig3-d3+fused 5 0,0 | grep -q "^env MSYM_FUSED_SSD=1 /.*reproduce fig3 --devices 0,0 " ||
    fail "+fused did not use the kernels the verdict adopted"
mkdir -p runs/conv-check
echo "adopt fused: R = 9 130.0 vs plain 100.0" >runs/conv-check/verdict.txt
run cmd fig3-d3+fused 5 0,0 | grep -q "^env MSYM_FUSED_SSD=1 MSYM_FUSED_CONV=1 /.*reproduce fig3 " ||
    fail "+fused did not use both adopted kernel pairs"
echo "keep fused: R = 9 100.0 vs plain 101.0" >runs/fused-check/verdict.txt
run cmd fig3-d3+fused 5 0,0 | grep -q "^env MSYM_FUSED_SSD=0 MSYM_FUSED_CONV=1 /.*reproduce fig3 " ||
    fail "+fused did not use the conv kernels alone"
mkdir -p runs/split-check
echo "adopt split: R = 9 120.0 vs plain 100.0" >runs/split-check/verdict.txt
run cmd fig3-d3+fused 5 0,0 | grep -q "^env MSYM_FUSED_SSD=0 MSYM_FUSED_CONV=1 MSYM_SPLIT_IN_PROJ=1 /.*reproduce fig3 " ||
    fail "+fused did not use the adopted split in_proj"
run cmd profile+norm 5 3 | grep -q "^env MSYM_FUSED_NORM=1 bash scripts/device-batch.sh profile " ||
    fail "+norm did not turn the fused gated norm on"
run cmd paths-check+rms 5 3 | grep -q "^env MSYM_FUSED_RMSNORM=1 bash scripts/device-batch.sh paths-check " ||
    fail "+rms did not turn the fused input RMSNorm on"
run cmd profile+rms+embed 5 3 | grep -q "^env MSYM_FUSED_EMBED=1 env MSYM_FUSED_RMSNORM=1 bash scripts/device-batch.sh profile " ||
    fail "+rms+embed did not turn both on: $(run cmd profile+rms+embed 5 3)"
run cmd profile+adam 5 3 | grep -q "^env MSYM_FUSED_ADAM=1 bash scripts/device-batch.sh profile " ||
    fail "+adam did not turn the fused optimizer tail on"
run cmd fig3-d2+plain 5 0,0 | grep -q "^env MSYM_FUSED_SSD=0 MSYM_FUSED_CONV=0 MSYM_SPLIT_IN_PROJ=0 MSYM_FUSED_NORM=0 MSYM_FUSED_RMSNORM=0 MSYM_FUSED_EMBED=0 MSYM_KEEP_FLAT_PARAMS=0 MSYM_LAST_QUERY=0 MSYM_FUSED_ADAM=0 MSYM_FUSED_CONV_SSD=0 MSYM_FUSED_CE=0 MSYM_FUSED_PROJ_CONV=0 MSYM_PROJ_CONV_GRADS=0 MSYM_SSD_SCORES=0 MSYM_FUSED_DT=0 MSYM_ROW_VIEWS=0 MSYM_FUSED_GUARD=0 MSYM_IN_PROJ_ROWS=0 MSYM_FUSED_LINEAR=0 MSYM_GROUP_SUMS=0 MSYM_LAST_POSITION=0 /.*reproduce fig3 .*--only model.depth=2 " ||
    fail "+plain did not turn every speed path off"
# autotune-check: queued as this script's own job; without its binary it refuses before any bench
run cmd autotune-check 5 1 | grep -q "^bash scripts/device-batch.sh autotune-check 1 *$" ||
    fail "autotune-check is not queued as this script's job: $(run cmd autotune-check 5 1)"
: >"$t/mock.log"
if out=$(MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run autotune-check 1 2>&1); then fail "autotune-check ran without bin-xz/msym-autotune.xz"; fi
[ ! -s "$t/mock.log" ] || fail "autotune-check ran msym before refusing: $(cat "$t/mock.log")"
echo "$out" | grep -q "prepare-device.sh --autotune" || fail "autotune-check's refusal does not say how to build: $out"
[ ! -e runs/autotune-check ] || fail "autotune-check wrote runs/autotune-check before refusing"
# lastq-check: queued as this script's job; +lastq turns the path on for any job
run cmd lastq-check 5 2 | grep -q "^bash scripts/device-batch.sh lastq-check 2 *$" ||
    fail "lastq-check is not queued as this script's job: $(run cmd lastq-check 5 2)"
run cmd bench-full+lastq 5 1 | grep -q "^env MSYM_LAST_QUERY=1 /.* bench " ||
    fail "+lastq did not turn the last query on: $(run cmd bench-full+lastq 5 1)"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run lastq-check 2 >/dev/null 2>&1 || true # no metrics from the mock
grep -q "^bench --no-torch --steps 10 --warmup 3 --device cuda:2 --config configs/fig6.toml --depths 2,4 --replicas 9,36 --sweep-depth 2 --precisions f32 --out runs/lastq-check/bench-3" "$t/mock.log" ||
    fail "lastq-check did not bench fig6's Transformer three times: $(cat "$t/mock.log")"
grep -q "^sweep configs/fig6.toml --only model.depth=2 --only init.gamma=0.5,1.0,1.5 --device cuda:2 --set train.epochs=5 .*--out runs/lastq-check/lastq" "$t/mock.log" ||
    fail "lastq-check did not train fig6's depth-2 cells with the path on: $(cat "$t/mock.log")"
rm -rf runs/lastq-check
# ssd-units-check: the bench alone under each MSYM_SSD_UNITS, the default first and last
run cmd ssd-units-check 5 2 | grep -q "^bash scripts/device-batch.sh ssd-units-check 2 *$" ||
    fail "ssd-units-check is not queued as this script's job: $(run cmd ssd-units-check 5 2)"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run ssd-units-check 2 >/dev/null 2>&1 || true # the mock prints no timings
[ "$(grep -c '^bench ' "$t/mock.log")" = 4 ] && [ "$(grep -c '^units=64,256 bench .*--device cuda:2 ' "$t/mock.log")" = 2 ] &&
    grep -q "^units=64,128 bench .*--replicas 9,36 .*--out runs/ssd-units-check/bench-5$" "$t/mock.log" &&
    [ "$(wc -l <"$t/mock.log")" = 12 ] ||
    fail "ssd-units-check did not bench each setting twice, the default without the variable: $(cat "$t/mock.log")"
rm -rf runs/ssd-units-check
# convssd-check and ce-check: the checks' A/B with their switch off and on, then the R = 1
# bench four times; +convssd and +ce turn the path on for any job
for pc in convssd:MSYM_FUSED_CONV_SSD ce:MSYM_FUSED_CE; do
    p=${pc%%:*} v=${pc#*:}
    run cmd $p-check 5 1 | grep -q "^bash scripts/device-batch.sh $p-check 1 *$" ||
        fail "$p-check is not queued as this script's job: $(run cmd $p-check 5 1)"
    run cmd profile-d4+$p 5 1 | grep -q "^env $v=1 bash scripts/device-batch.sh profile-d4 1 *$" ||
        fail "+$p does not turn the path on: $(run cmd profile-d4+$p 5 1)"
    : >"$t/mock.log"
    MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run $p-check 1 >/dev/null 2>&1 || true
    grep -q "^bench --no-torch --steps 10 --warmup 3 --device cuda:1 .*--out runs/$p-check/bench-3" "$t/mock.log" &&
        grep -q "^sweep configs/fig3.toml .*--out runs/$p-check/$p" "$t/mock.log" &&
        [ "$(grep -c "^bench --no-torch --steps 300 --warmup 20 --device cuda:1 .*--depths 2,4,7 --replicas 1 .*--out runs/$p-check/r1-" "$t/mock.log")" = 4 ] ||
        fail "$p-check did not run the A/B and the R = 1 benches: $(cat "$t/mock.log")"
done
rm -rf runs/convssd-check runs/ce-check
# projconv-check: the checks' A/B with MSYM_FUSED_PROJ_CONV off and on, then the R = 1 runs
# (since session 23, as convssd-check), and +projconv turns it on for any job
run cmd projconv-check 5 1 | grep -q "^bash scripts/device-batch.sh projconv-check 1 *$" ||
    fail "projconv-check is not queued as this script's job: $(run cmd projconv-check 5 1)"
run cmd profile-d4+projconv 5 1 | grep -q "^env MSYM_FUSED_PROJ_CONV=1 bash scripts/device-batch.sh profile-d4 1 *$" ||
    fail "+projconv does not turn the path on: $(run cmd profile-d4+projconv 5 1)"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run projconv-check 1 >/dev/null 2>&1 || true
grep -q "^bench --no-torch --steps 10 --warmup 3 --device cuda:1 .*--out runs/projconv-check/bench-3" "$t/mock.log" &&
    grep -q "^sweep configs/fig3.toml .*--out runs/projconv-check/without" "$t/mock.log" &&
    grep -q "^sweep configs/fig3.toml .*--out runs/projconv-check/projconv" "$t/mock.log" &&
    [ "$(grep -c "^bench --no-torch --steps 300 --warmup 20 --device cuda:1 .*--depths 2,4,7 --replicas 1 .*--out runs/projconv-check/r1-" "$t/mock.log")" = 4 ] &&
    [ "$(grep -c "^bench " "$t/mock.log")" = 7 ] ||
    fail "projconv-check did not run the A/B and the R = 1 benches: $(cat "$t/mock.log")"
rm -rf runs/projconv-check
# projgrads-check: the same A/B with MSYM_PROJ_CONV_GRADS off and on, then the R = 1 runs
# (a switch check since session 24's review: SWITCH_CHECKS, so +projgrads and +fused know it)
run cmd projgrads-check 5 1 | grep -q "^bash scripts/device-batch.sh projgrads-check 1 *$" ||
    fail "projgrads-check is not queued as this script's job: $(run cmd projgrads-check 5 1)"
run cmd profile-d4+projgrads 5 1 | grep -q "^env MSYM_PROJ_CONV_GRADS=1 bash scripts/device-batch.sh profile-d4 1 *$" ||
    fail "+projgrads does not turn the kernel on: $(run cmd profile-d4+projgrads 5 1)"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run projgrads-check 1 >/dev/null 2>&1 || true
grep -q "^grads=0 bench --no-torch --steps 10 --warmup 3 --device cuda:1 .*--out runs/projgrads-check/bench-3" "$t/mock.log" &&
    grep -q "^grads=1 bench --no-torch --steps 10 --warmup 3 --device cuda:1 .*--out runs/projgrads-check/bench-2" "$t/mock.log" &&
    grep -q "^grads=0 sweep configs/fig3.toml .*--out runs/projgrads-check/without" "$t/mock.log" &&
    grep -q "^grads=1 sweep configs/fig3.toml .*--out runs/projgrads-check/projgrads" "$t/mock.log" &&
    [ "$(grep -c "^grads=[01] bench --no-torch --steps 300 --warmup 20 --device cuda:1 .*--depths 2,4,7 --replicas 1 .*--out runs/projgrads-check/r1-" "$t/mock.log")" = 4 ] &&
    [ "$(grep -c "^grads=1 bench .*--out runs/projgrads-check/r1-[24]" "$t/mock.log")" = 2 ] &&
    [ "$(grep -c " bench " "$t/mock.log")" = 7 ] ||
    fail "projgrads-check did not run the A/B and the R = 1 benches: $(cat "$t/mock.log")"
rm -rf runs/projgrads-check
# A switch check with R = 1 runs (device-batch's checks of this shape: the checks' A/B with
# the path's variable, tagged C by the mock, off and on, then the R = 1 bench four times): the
# sweeps into runs/C-check/without and runs/C-check/C, and two of the R = 1 benches with the
# path on. SWEEP and BENCH: patterns the sweep's and the bench's lines hold before --out.
switch_r1_check() {
    local c=$1 sweep=${2:-} bench=${3:-}
    : >"$t/mock.log"
    MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run $c-check 1 >/dev/null 2>&1 || true
    grep -q "^$c=0 sweep configs/fig3.toml .*$sweep--out runs/$c-check/without" "$t/mock.log" &&
        grep -q "^$c=1 sweep configs/fig3.toml .*$sweep--out runs/$c-check/$c" "$t/mock.log" &&
        [ "$(grep -c "^$c=1 bench .*$bench--out runs/$c-check/r1-[24]" "$t/mock.log")" = 2 ] ||
        fail "$c-check did not run the A/B and the R = 1 benches: $(cat "$t/mock.log")"
    rm -rf runs/$c-check
}
# dt-check: the checks' A/B with MSYM_FUSED_DT off and on, then the R = 1 bench four times
# (session 26)
switch_r1_check dt
run cmd profile-r1+dt 5 1 | grep -q "^env MSYM_FUSED_DT=1 bash scripts/device-batch.sh profile-r1 1 *$" ||
    fail "profile-r1+dt does not run with the fused dt on: $(run cmd profile-r1+dt 5 1)"
# views-check: the checks' A/B with MSYM_ROW_VIEWS off and on over one-replica runs, then
# the R = 1 bench four times (session 27)
switch_r1_check views '--max-replicas 1 .*' '--replicas 1 .*'
run cmd profile-r1+views 5 1 | grep -q "^env MSYM_ROW_VIEWS=1 bash scripts/device-batch.sh profile-r1 1 *$" ||
    fail "profile-r1+views does not run with the row views on: $(run cmd profile-r1+views 5 1)"
# linear-check: the same as views-check for MSYM_FUSED_LINEAR (session 28)
switch_r1_check linear '--max-replicas 1 .*' '--replicas 1 .*'
run cmd profile-r1+linear 5 1 | grep -q "^env MSYM_FUSED_LINEAR=1 bash scripts/device-batch.sh profile-r1 1 *$" ||
    fail "profile-r1+linear does not run with the fused linear map on: $(run cmd profile-r1+linear 5 1)"
# sums-check: the checks' A/B with MSYM_GROUP_SUMS off and on, then the R = 1 bench four
# times (session 28)
switch_r1_check sums '' '--replicas 1 .*'
# lastpos-check: the same for MSYM_LAST_POSITION (session 29)
switch_r1_check lastpos '' '--replicas 1 .*'
# guard-check: the checks' A/B with MSYM_FUSED_GUARD off and on, then the R = 1 bench four
# times (session 27)
switch_r1_check guard '' '--replicas 1 .*'
# r1-ab: R1_A against R1_B at R = 1 in R1_PAIRS interleaved pairs, A first (session 27)
: >"$t/mock.log"
R1_A="MSYM_FUSED_GUARD=0" R1_B="MSYM_FUSED_GUARD=1" R1_PAIRS=3 MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run r1-ab 1 >/dev/null 2>&1 || true
[ "$(grep -c "^guard=0 bench .*--depths 4 --replicas 1 .*--out runs/r1-ab/r1-[135]" "$t/mock.log")" = 3 ] &&
    [ "$(grep -c "^guard=1 bench .*--depths 4 --replicas 1 .*--out runs/r1-ab/r1-[246]" "$t/mock.log")" = 3 ] &&
    [ "$(grep -c " bench " "$t/mock.log")" = 6 ] ||
    fail "r1-ab did not run three interleaved pairs at depth 4: $(cat "$t/mock.log")"
rm -rf runs/r1-ab
# rows-check: the same for MSYM_IN_PROJ_ROWS (session 27)
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run rows-check 1 >/dev/null 2>&1 || true
grep -q "^rows=0 sweep configs/fig3.toml .*--out runs/rows-check/without" "$t/mock.log" &&
    grep -q "^rows=1 sweep configs/fig3.toml .*--out runs/rows-check/rows" "$t/mock.log" &&
    [ "$(grep -c "^rows=1 bench .*--replicas 1 .*--out runs/rows-check/r1-[24]" "$t/mock.log")" = 2 ] ||
    fail "rows-check did not run the A/B and the R = 1 benches: $(cat "$t/mock.log")"
rm -rf runs/rows-check
# gradb-check: the bench alone at depths 4 and 2 under each MSYM_GRAD_BATCHES, the default
# (the variable unset) first and last (session 26)
run cmd gradb-check 5 1 | grep -q "^bash scripts/device-batch.sh gradb-check 1 *$" ||
    fail "gradb-check is not queued as this script's job: $(run cmd gradb-check 5 1)"
: >"$t/mock.log"
MSYM_GRAD_BATCHES=9 MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run gradb-check 1 >/dev/null 2>&1 || true
[ "$(grep -c '^bench ' "$t/mock.log")" = 4 ] && [ "$(grep -c '^gradb=1152 bench .*--device cuda:1 ' "$t/mock.log")" = 2 ] &&
    grep -q "^gradb=288 bench .*--depths 2 .*--out runs/gradb-check/bench-5-d2$" "$t/mock.log" &&
    grep -q "^bench .*--depths 4 .*--out runs/gradb-check/bench-6-d4$" "$t/mock.log" ||
    fail "gradb-check did not bench each setting at both depths, the default without the variable: $(cat "$t/mock.log")"
rm -rf runs/gradb-check
# gradb-ab: ab_check with the setting unset and at GRADB, its sweep fig3's 36 depth-2 cells
: >"$t/mock.log"
GRADB=576 MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run gradb-ab 1 >/dev/null 2>&1 || true
grep -q "^sweep configs/fig3.toml --only model.depth=2 --device cuda:1 .*--out runs/gradb-ab/without$" "$t/mock.log" &&
    grep -q "^gradb=576 sweep configs/fig3.toml --only model.depth=2 --device cuda:1 .*--out runs/gradb-ab/gradb576$" "$t/mock.log" &&
    [ "$(grep -c "^gradb=576 bench " "$t/mock.log")" = 1 ] ||
    fail "gradb-ab did not run the A/B on fig3's depth-2 cells: $(cat "$t/mock.log")"
rm -rf runs/gradb-ab
# scores-check: the same with MSYM_SSD_SCORES off and on (session 25)
run cmd profile-d4+scores 5 1 | grep -q "^env MSYM_SSD_SCORES=1 bash scripts/device-batch.sh profile-d4 1 *$" ||
    fail "+scores does not turn the kept S on: $(run cmd profile-d4+scores 5 1)"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run scores-check 1 >/dev/null 2>&1 || true
grep -q "^scores=0 sweep configs/fig3.toml .*--out runs/scores-check/without" "$t/mock.log" &&
    grep -q "^scores=1 sweep configs/fig3.toml .*--out runs/scores-check/scores" "$t/mock.log" &&
    [ "$(grep -c "^scores=1 bench .*--out runs/scores-check/r1-[24]" "$t/mock.log")" = 2 ] ||
    fail "scores-check did not run the A/B and the R = 1 benches: $(grep scores-check "$t/mock.log")"
rm -rf runs/scores-check
# host-check: the R = 1 bench four times, the fused optimizer tail off, on, off, on
run cmd host-check 5 1 | grep -q "^bash scripts/device-batch.sh host-check 1 *$" ||
    fail "host-check is not queued as this script's job: $(run cmd host-check 5 1)"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run host-check 1 >/dev/null 2>&1 || true
[ "$(grep -c '^bench --no-torch --steps 300 --warmup 20 --device cuda:1 .*--depths 2,4,7 --replicas 1 ' "$t/mock.log")" = 4 ] ||
    fail "host-check did not run the R = 1 bench four times: $(cat "$t/mock.log")"
rm -rf runs/host-check
# host-profile: the R = 1 bench with MSYM_HOST_PROFILE into runs/host-profile
run cmd host-profile 5 1 | grep -q "^bash scripts/device-batch.sh host-profile 1 *$" ||
    fail "host-profile is not queued as this script's job: $(run cmd host-profile 5 1)"
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run host-profile 1 >/dev/null 2>&1 || true
grep -q "^bench --no-torch --steps 1000 --warmup 20 --device cuda:1 .*--depths 2,4 --replicas 1 .*--out runs/host-profile/bench$" "$t/mock.log" ||
    fail "host-profile did not run the R = 1 bench: $(cat "$t/mock.log")"
rm -rf runs/host-profile
for j in profile-r1 profile-d4 profile-sections; do
    run cmd $j 5 1 | grep -q "^bash scripts/device-batch.sh $j 1 *$" ||
        fail "$j is not queued as this script's job: $(run cmd $j 5 1)"
done
# profile-sections: ncu (a mock on PATH that logs its arguments) skips 4 steps' custom kernels
# and profiles one step's, over the depth-4, R = 36 bench on the GPU named
mkdir -p "$t/ncu" && printf '#!/bin/sh\necho "ncu $*" >>"%s"\n' "$t/mock.log" >"$t/ncu/ncu" && chmod +x "$t/ncu/ncu"
: >"$t/mock.log"
PATH=$t/ncu:$PATH MSYM_BIN=$t/bin/msym run profile-sections 1 >/dev/null 2>&1 || true
grep -q "^ncu .*--launch-skip 136 --launch-count 34 .*--kernel-name regex:.*ssd_.*bench --no-torch --device cuda:1 .*--depths 4 --replicas 36 " "$t/mock.log" &&
    [ -e runs/profile-sections/sections.txt.xz ] ||
    fail "profile-sections did not run ncu over one R = 36 step's custom kernels: $(cat "$t/mock.log")"
rm -rf runs/profile-sections
# profile-sass: the 8 SSD launches of the same step into a report, then its details page and
# its per-SASS-line page out of it
: >"$t/mock.log"
PATH=$t/ncu:$PATH MSYM_BIN=$t/bin/msym run profile-sass 1 >/dev/null 2>&1 || true
grep -q "^ncu .*--launch-skip 32 --launch-count 8 .*--kernel-name regex:^ssd_(forward|backward)_staged_kernel .*--section SourceCounters .*-o runs/profile-sass/ssd .*bench --no-torch --device cuda:1 .*--depths 4 --replicas 36 " "$t/mock.log" &&
    grep -q "^ncu -i runs/profile-sass/ssd.ncu-rep --page source --print-source sass --csv" "$t/mock.log" &&
    [ -e runs/profile-sass/sass.csv.xz ] && [ -e runs/profile-sass/details.txt.xz ] ||
    fail "profile-sass did not profile one R = 36 step's SSD kernels: $(cat "$t/mock.log")"
rm -rf runs/profile-sass
# norm-tiling-check: ncu over the 9 norm backward launches of that step, under each
# MSYM_NORM_BWD_PER_UNIT, the default first and last
printf '#!/bin/sh\necho "${MSYM_NORM_BWD_PER_UNIT:-default} ncu $*" >>"%s"\n' "$t/mock.log" >"$t/ncu/ncu"
: >"$t/mock.log"
PATH=$t/ncu:$PATH MSYM_BIN=$t/bin/msym run norm-tiling-check 1 >/dev/null 2>&1 || true
[ "$(cut -d' ' -f1 "$t/mock.log" | tr '\n' ' ')" = "default 8 2 1 default " ] &&
    grep -q "^8 ncu .*--launch-skip 36 --launch-count 9 .*regex:^gated_norm_backward_kernel .*bench --no-torch --device cuda:1 .*--depths 4 --replicas 36 " "$t/mock.log" ||
    fail "norm-tiling-check did not time the norm backward under each setting: $(cat "$t/mock.log")"
rm -rf runs/norm-tiling-check
# projconv-tiling-check: the same over the 4 fused xBC product + conv launches (the path on)
# under each MSYM_PROJ_CONV_PER, then each MSYM_PROJ_CONV_UNROLL at 5 and at 2 channels a unit
printf '#!/bin/sh\necho "${MSYM_FUSED_PROJ_CONV:-off}:${MSYM_PROJ_CONV_PER:-default}:${MSYM_PROJ_CONV_UNROLL:-all} ncu $*" >>"%s"\n' "$t/mock.log" >"$t/ncu/ncu"
: >"$t/mock.log"
PATH=$t/ncu:$PATH MSYM_BIN=$t/bin/msym run projconv-tiling-check 1 >/dev/null 2>&1 || true
[ "$(cut -d' ' -f1 "$t/mock.log" | tr '\n' ' ')" = "1:default:all 1:5:all 1:4:all 1:1:all 1:default:all 1:5:all 1:5:8 1:5:4 1:5:1 1:5:all 1:2:all 1:2:8 1:2:4 1:2:1 1:2:all " ] &&
    grep -q "^1:5:4 ncu .*--launch-skip 16 --launch-count 4 .*regex:^proj_conv_silu_forward_kernel .*bench --no-torch --device cuda:1 .*--depths 4 --replicas 36 .*--out runs/projconv-tiling-check/unroll-per5/bench-3" "$t/mock.log" ||
    fail "projconv-tiling-check did not time the fused product + conv under each setting: $(cat "$t/mock.log")"
rm -rf runs/projconv-tiling-check
# projconv-rounds-check: the same over the tensor-core form's 4 launches under each
# MSYM_PROJ_CONV_ROUNDS, the default first and last
printf '#!/bin/sh\necho "${MSYM_FUSED_PROJ_CONV:-off}:${MSYM_PROJ_CONV_ROUNDS:-default} ncu $*" >>"%s"\n' "$t/mock.log" >"$t/ncu/ncu"
: >"$t/mock.log"
PATH=$t/ncu:$PATH MSYM_BIN=$t/bin/msym run projconv-rounds-check 1 >/dev/null 2>&1 || true
[ "$(cut -d' ' -f1 "$t/mock.log" | tr '\n' ' ')" = "1:default 1:4 1:64 1:1 1:default " ] &&
    grep -q "^1:64 ncu .*--launch-skip 16 --launch-count 4 .*regex:^proj_conv_mma_forward_kernel .*bench --no-torch --device cuda:1 .*--depths 4 --replicas 36 " "$t/mock.log" ||
    fail "projconv-rounds-check did not time the tensor-core form under each setting: $(cat "$t/mock.log")"
rm -rf runs/projconv-rounds-check
# kernel-tests: each bin-xz/kernel-tests/NAME.xz runs on the GPU given, PASS or FAIL a line,
# exit 1 on a FAIL; with none there it fails at once, naming where they come from
run cmd kernel-tests 5 1 | grep -q "^bash scripts/device-batch.sh kernel-tests 1 *$" ||
    fail "kernel-tests is not queued as this script's job: $(run cmd kernel-tests 5 1)"
if out=$(MSYM_BIN=$t/bin/msym run kernel-tests 1 2>&1); then fail "kernel-tests passed with no test binary"; fi
echo "$out" | grep -q "prepare-device.sh" || fail "kernel-tests without binaries does not say where they come from: $out"
mkdir -p bin-xz/kernel-tests
printf '#!/bin/sh\necho "gpu $CUDA_VISIBLE_DEVICES $*"\n' | xz >bin-xz/kernel-tests/good_cuda.xz
printf '#!/bin/sh\necho broken; exit 101\n' | xz >bin-xz/kernel-tests/bad_cuda.xz
if out=$(MSYM_BIN=$t/bin/msym run kernel-tests 1 2>&1); then fail "kernel-tests passed with a failing binary: $out"; fi
grep -q "^PASS good_cuda" runs/kernel-tests/summary.txt && grep -q "^FAIL bad_cuda" runs/kernel-tests/summary.txt &&
    grep -q "^gpu 1 --test-threads=1" runs/kernel-tests/good_cuda.log ||
    fail "kernel-tests did not run each binary on GPU 1 and name its verdict: $(cat runs/kernel-tests/*)"
rm bin-xz/kernel-tests/bad_cuda.xz
MSYM_BIN=$t/bin/msym run kernel-tests 1 >/dev/null 2>&1 || fail "kernel-tests failed with only a passing binary: $(cat runs/kernel-tests/*)"
rm -rf runs/kernel-tests bin-xz/kernel-tests
# matmul-kernel-check: the bench at depths 4 and 2, R = 36, under burn's matmul first and last
# and under each named kernel between
: >"$t/mock.log"
MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run matmul-kernel-check 1 >/dev/null 2>&1 || true
[ "$(grep -c "bench --no-torch .*--device cuda:1 .*--depths 4 --replicas 36 " "$t/mock.log")" = 6 ] &&
    [ "$(grep -c "bench --no-torch .*--depths 2 --replicas 36 " "$t/mock.log")" = 6 ] &&
    [ "$(grep -c "^kernel=double-cyclic-mma bench " "$t/mock.log")" = 2 ] &&
    [ "$(sed -n '1p;$p' "$t/mock.log" | grep -c "^bench ")" = 2 ] ||
    fail "matmul-kernel-check did not run the bench six times at each depth: $(cat "$t/mock.log")"
rm -rf runs/matmul-kernel-check
# base-check: queued as this script's job; without bin-xz/msym-base.xz it refuses before any bench
run cmd base-check 5 1 | grep -q "^bash scripts/device-batch.sh base-check 1 *$" ||
    fail "base-check is not queued as this script's job: $(run cmd base-check 5 1)"
: >"$t/mock.log"
if out=$(MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run base-check 1 2>&1); then fail "base-check ran without bin-xz/msym-base.xz"; fi
[ ! -s "$t/mock.log" ] || fail "base-check ran msym before refusing: $(cat "$t/mock.log")"
echo "$out" | grep -q "bin-xz/msym-base.xz" || fail "base-check's refusal does not name the binary it needs: $out"
[ ! -e runs/base-check ] || fail "base-check wrote runs/base-check before refusing"
# f32-check: the switch check of MSYM_F32_MATMUL; +f32 runs any job with every matmul in f32
run cmd f32-check 5 1 | grep -q "^bash scripts/device-batch.sh f32-check 1 *$" ||
    fail "f32-check is not queued as this script's job: $(run cmd f32-check 5 1)"
run cmd fig3-spot+f32 5 0,1 | grep -q "^env MSYM_F32_MATMUL=1 env MSYM_.*sweep configs/fig3.toml .*--out runs/fig3-spot-f32 " ||
    fail "+f32 did not turn the f32 matmul on into its own folder: $(run cmd fig3-spot+f32 5 0,1)"
run cmd fig3-spot+f32 5 0,1 | grep -q "MSYM_F32_MATMUL=0" && fail "+f32's job turned the f32 matmul off again"
# profile-fig6 (ncu_bench): ncu runs the bench of fig6's Transformer once per precision; a
# mock ncu runs the command it is given
printf '#!/usr/bin/env bash\nwhile [ "$1" != --csv ]; do shift; done\nshift\nexec "$@"\n' >"$t/bin/ncu"
chmod +x "$t/bin/ncu"
: >"$t/mock.log"
PATH=$t/bin:$PATH MSYM_BIN=$t/bin/msym MOCK_LOG=$t/mock.log run profile-fig6 1 >/dev/null 2>&1 || true # no kernels from the mock
for prec in f32 bf16; do
    grep -q "^bench --no-torch --device cuda:1 --config configs/fig6.toml --depths 4 --replicas 36 --sweep-depth 4 --precisions $prec --steps 2 --warmup 1 --out runs/profile-fig6/$prec/bench" "$t/mock.log" ||
        fail "profile-fig6 did not profile the $prec bench: $(cat "$t/mock.log")"
done
[ -f runs/profile-fig6/bf16/ncu.csv.xz ] || fail "profile-fig6 did not keep ncu's csv"
rm -rf runs/profile-fig6
# JOB+finish: the job resuming its started runs only
run cmd fig3-d5,6+finish 5 0,1 | grep -q "^/.* reproduce fig3 --devices 0,1 .*--only model.depth=5,6 .*--out runs/fig3 --started-only *$" ||
    fail "+finish did not add --started-only to the job: $(run cmd fig3-d5,6+finish 5 0,1)"
# fig3-spot: the fig3 job's cells (same config and --set), one replica a run, plain ops
run cmd fig3-spot 5 0,1,2,3 | grep -q "^env MSYM_FUSED_SSD=0 MSYM_FUSED_CONV=0 MSYM_SPLIT_IN_PROJ=0 MSYM_FUSED_NORM=0 MSYM_FUSED_RMSNORM=0 MSYM_FUSED_EMBED=0 MSYM_KEEP_FLAT_PARAMS=0 MSYM_LAST_QUERY=0 MSYM_FUSED_ADAM=0 MSYM_FUSED_CONV_SSD=0 MSYM_FUSED_CE=0 MSYM_FUSED_PROJ_CONV=0 MSYM_PROJ_CONV_GRADS=0 MSYM_SSD_SCORES=0 MSYM_FUSED_DT=0 MSYM_ROW_VIEWS=0 MSYM_FUSED_GUARD=0 MSYM_IN_PROJ_ROWS=0 MSYM_FUSED_LINEAR=0 MSYM_GROUP_SUMS=0 MSYM_LAST_POSITION=0 /.* sweep configs/fig3.toml --devices 0,1,2,3 --max-replicas 1 --set eval.every_epochs=5 .*--only seed=1 .*--out runs/fig3-spot" ||
    fail "fig3-spot is not fig3's cells at R = 1 on the plain ops: $(run cmd fig3-spot 5 0,1,2,3)"
# fig3t-*: fig3c's choices on depth 7's transition cells, over two GPUs; seeds456 swaps the seeds
run cmd fig3t-seeds456 5 0,1 | grep -q "^/.* sweep configs/fig3.toml --devices 0,1 --set 'sweep.grid.seed=\[4,5,6\]' --set eval.every_epochs=5 --max-replicas 6 .*--only model.depth=7 --only init.gamma=0.5,0.6,0.7,0.8 .*--out runs/fig3t-seeds456" ||
    fail "fig3t-seeds456 is not depth 7's transition with seeds 4-6: $(run cmd fig3t-seeds456 5 0,1)"
run cmd fig3c-tied 5 2 | grep -q "^/.* sweep configs/fig3.toml --device cuda:2 --set init.tied_head=true .*--only model.depth=2 --only init.gamma=0.8,0.9,1.0,1.5 .*--out runs/fig3c-tied" ||
    fail "fig3c-tied changed: $(run cmd fig3c-tied 5 2)"
run cmd fig3t-wd0.1 5 2,3 | grep -q "^/.* sweep configs/fig3.toml --devices 2,3 --set train.weight_decay=0.1 .*--only model.depth=7 .*--out runs/fig3t-wd0.1" ||
    fail "fig3t-wd0.1 is not depth 7's transition with weight decay 0.1: $(run cmd fig3t-wd0.1 5 2,3)"
run cmd fig3t-nonsense 5 0,1 2>/dev/null && fail "fig3t- took an unknown choice"
# fig3e-*: the same choices on depths 4-6 at gamma 0.9, one run of nine on one GPU
run cmd fig3e-tied 5 1 | grep -q "^/.* sweep configs/fig3.toml --device cuda:1 --set init.tied_head=true --set eval.every_epochs=5 --max-replicas 9 --only model.depth=4,5,6 --only init.gamma=0.9 .*--out runs/fig3e-tied" ||
    fail "fig3e-tied is not depths 4-6 at gamma 0.9 with the tied head: $(run cmd fig3e-tied 5 1)"
# fig7_depth: a sweep (no such figure for reproduce), one replica a run (small enough to carry)
run cmd fig7_depth 5 0,1,2,3 | grep -q "^/.* sweep configs/fig7_depth.toml --devices 0,1,2,3 --max-replicas 1 --set eval.every_epochs=5 .*--out runs/fig7_depth" ||
    fail "fig7_depth is not the grid's sweep in runs of 1: $(run cmd fig7_depth 5 0,1,2,3)"
echo "test-device-batch: stage, split, resume, pack, unpack, box (with --side, its refusal to train a committed figure from nothing or to run a bad job line, and its stop of a job past the deadline), prepare-device, +fused, +plain, +norm, +rms, +embed, +adam, ssd-units-check, gradb-check, gradb-ab, host-check, host-profile, profile-r1, profile-d4, profile-sections, profile-sass, norm-tiling-check, projconv-tiling-check, projconv-rounds-check, kernel-tests, matmul-kernel-check, base-check, fig3t-, fig3c-, fig3e-, autotune-check, lastq-check, convssd-check, ce-check, projconv-check, projgrads-check, scores-check, dt-check, views-check, guard-check, rows-check, linear-check, sums-check, lastpos-check, r1-ab, f32-check and fig7_depth pass"
