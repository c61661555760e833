#!/usr/bin/env bash
# Runs a batch of small-replica trainings at once on one lent GPU, for the issue-9 figures,
# across several time-boxed device calls on the same warm machine. The GPU machine has no
# Rust: the CUDA binary travels xz-compressed in bin-xz/ (git-ignored, named in `carry`).
#
#   scripts/device-batch.sh stage              # move carry/<name> (or carryK/<name>) to
#                                              # runs/<name>; where the machine has
#                                              # runs/<name>, add what it lacks
#   scripts/device-batch.sh preflight [CONFIG] # two training steps on cuda:0 (R = 1 and 2);
#                                              # exit 1, before any job starts, if they fail
#   scripts/device-batch.sh measure            # workers vs processes vs MPS, on supp (short)
#   scripts/device-batch.sh start MIN JOB...   # start JOBs in the background (setsid), each
#                                              # stopping cleanly before MIN minutes; JOB@L
#                                              # runs it on GPUs L (e.g. fig5b@0,1)
#   scripts/device-batch.sh cmd JOB [MIN] [L]  # the command line JOB would run (a dry run)
#   scripts/device-batch.sh queue END GPU JOB[@L]...  # run JOBs one after another on GPU,
#                                              # each stopping cleanly before END (epoch s);
#                                              # fig3c-/fig3t-/fig3e-{seq9,fanin,tied,lr2e-4,wd0,wd0.1,seeds456}[+..]: unstated
#                                              # choices on the depth-2 cells that miss most;
#                                              # torch-fig4[@G1,G2,G3]: the fig4 cell in PyTorch
#   scripts/device-batch.sh torch-fig4 [G1,G2,G3]  # that job itself (seeds 1-3 on those GPUs)
#   scripts/device-batch.sh torch-merge DIR    # (also here) its seeds in DIR as one run, DIR/run
#   scripts/device-batch.sh torch-order [G]    # fig4's seed 1 in PyTorch on msym's batches, 20 epochs
#   scripts/device-batch.sh fusion-check [G]   # plain vs fusion build: bench at R = 9-36, 5 epochs' metrics
#   scripts/device-batch.sh lastq-check [G]    # fig6's Transformer with its last block at the last
#                                              # position alone (MSYM_LAST_QUERY) off and on
#   scripts/device-batch.sh autotune-check [G] # default vs autotune build (bin-xz/msym-autotune.xz): the
#                                              # same, then fig6's Transformer at d4, R = 36
#   scripts/device-batch.sh fused-check [G]    # the fused SSD kernels off vs on (the other paths at
#                                              # their defaults; before session 12 against the plain
#                                              # ops), the same way; its verdict decides for
#                                              # JOB+fused jobs (JOB+plain: every speed path off)
#   scripts/device-batch.sh conv-check [G]     # the same for the fused conv + SiLU kernels
#   scripts/device-batch.sh split-check [G]    # the same for the split in_proj (three products)
#   scripts/device-batch.sh norm-check [G]     # the same for the fused gated RMSNorm (on by default
#                                              # since session 12; JOB+norm: any job with it on)
#   scripts/device-batch.sh rms-check [G]      # the fused input RMSNorm (off by default) on and off,
#                                              # the other paths at their defaults (since session 12
#                                              # every check's baseline); JOB+rms: any job with it on
#   scripts/device-batch.sh f32-check [G]      # every matmul in f32 (MSYM_F32_MATMUL, off by default) against
#                                              # burn's TF32 ones: speed, and the 5-epoch losses epoch by
#                                              # epoch (its adopt/keep verdict is about speed only);
#                                              # JOB+f32: any job in f32, e.g. fig3-spot+f32
#   scripts/device-batch.sh keep-check [G]     # the optimizer's kept parameter row (on by default,
#                                              # the same bits) off and on: fewer kernels at R = 1
#   scripts/device-batch.sh adam-check [G]     # the fused optimizer tail (on by default since session 17: the gradients
#                                              # gathered and the clipped AdamW in one kernel each);
#                                              # JOB+adam: any job with it on
#   scripts/device-batch.sh convssd-check [G]  # the fused conv + SSD (off by default) off and on: the
#                                              # A/B of the checks, then interleaved R = 1 runs;
#                                              # JOB+convssd: any job with it on
#   scripts/device-batch.sh ce-check [G]       # the fused cross-entropy (on by default since session 19) off and on, as
#                                              # convssd-check; JOB+ce: any job with it on
#   scripts/device-batch.sh projconv-check [G] # in_proj's xBC rows and the conv in one kernel (on by
#                                              # default where its tensor-core form runs, since session
#                                              # 23: the same bits) off and on: the checks' A/B;
#                                              # JOB+projconv: any job with it on
#   scripts/device-batch.sh ssd-units-check [G] # the fused SSD kernels' units a cube (MSYM_SSD_UNITS)
#                                              # against the default: the bench alone (same bits)
#   scripts/device-batch.sh gradb-check [G]    # the linear layers' weight-gradient groups
#                                              # (MSYM_GRAD_BATCHES: the least R x G): the bench
#   scripts/device-batch.sh gradb-ab [G]       # MSYM_GRAD_BATCHES=$GRADB (1152) off and on: the
#                                              # checks' A/B, its 5 epochs at R = 36 (36 cells)
#   scripts/device-batch.sh host-check [G]     # the host's time a step by phase at R = 1 (host_ms),
#                                              # the fused optimizer tail off and on, twice each
#   scripts/device-batch.sh host-profile [G]   # a sampling profile of the host over R = 1's timed
#                                              # steps (MSYM_HOST_PROFILE; a host-profile build)
#   scripts/device-batch.sh base-check [G]     # this build against an earlier one (bin-xz/msym-base.xz:
#                                              # a copy of an earlier bin-xz/msym.xz), the same way
#   scripts/device-batch.sh embed-check [G]    # the same for the fused embedding (off by default;
#                                              # JOB+embed: any job with it on)
#   scripts/device-batch.sh projgrads-check [G] # the product's two gradients after that form's
#                                              # backward from one tensor-core kernel (MSYM_PROJ_CONV_GRADS)
#                                              # off and on: the checks' A/B (other bits), then R = 1 runs;
#                                              # JOB+projgrads: any job with it on
#   scripts/device-batch.sh scores-check [G]   # the SSD forward keeping S for the backward
#                                              # (MSYM_SSD_SCORES; the same bits) off and on:
#                                              # the checks' A/B, then R = 1 runs; JOB+scores
#   scripts/device-batch.sh dt-check [G]       # dt's in_proj row, bias and softplus in one kernel
#                                              # pair (MSYM_FUSED_DT; on since session 26) off and on:
#                                              # the checks' A/B, then R = 1 runs; JOB+dt
#   scripts/device-batch.sh views-check [G]    # the optimizer's row split into the parameters as
#                                              # views at R = 1 (MSYM_ROW_VIEWS; off) off and on: the
#                                              # checks' A/B with one-replica runs, then R = 1 runs; JOB+views
#   scripts/device-batch.sh guard-check [G]    # the NaN/Inf guard's step in one kernel
#                                              # (MSYM_FUSED_GUARD; the same bits) off and on: the
#                                              # checks' A/B, then R = 1 runs; JOB+guard
#   scripts/device-batch.sh rows-check [G]     # the split in_proj's row blocks as views, one launch
#                                              # backward (MSYM_IN_PROJ_ROWS; the same bits) off and
#                                              # on: the checks' A/B, then R = 1 runs; JOB+rows
#   scripts/device-batch.sh linear-check [G]   # one-replica linear maps in this project's f32
#                                              # kernels (MSYM_FUSED_LINEAR; other bits) off and on:
#                                              # as views-check; JOB+linear
#   scripts/device-batch.sh sums-check [G]     # the kernels' per-group partials summed by
#                                              # kernels::linear::sum_groups (MSYM_GROUP_SUMS; the
#                                              # same bits) off and on: the checks' A/B, then R = 1 runs
#   scripts/device-batch.sh lastpos-check [G]  # the last Mamba2 block after its SSD at the last
#                                              # position alone (MSYM_LAST_POSITION; other bits)
#                                              # off and on: as sums-check; JOB+lastpos
#   scripts/device-batch.sh r1-ab [G]          # R1_A's settings against R1_B's at R = 1 only
#                                              # (R1_PAIRS interleaved pairs, default 6; depths
#                                              # R1_DEPTHS, default 4): each pair's ratio, the means
#   scripts/device-batch.sh projconv-rounds-check [G] # its tensor-core form's groups a cube
#                                              # (MSYM_PROJ_CONV_ROUNDS): ncu's time of its launches
#   scripts/device-batch.sh kernel-tests [G]   # the kernels' GPU-only tests (crates/kernels/tests/
#                                              # *_cuda.rs; bin-xz/kernel-tests/, built by
#                                              # prepare-device.sh): PASS/FAIL a binary, exit 1 on a FAIL
#   scripts/device-batch.sh profile [G]        # ncu: the kernel time of one step (d2, R = 36) by name
#   scripts/device-batch.sh profile-r1 [G]     # the same at R = 1, depth 4
#   scripts/device-batch.sh profile-d4 [G]     # the same at depth 4, R = 36 (the sweep estimate's size)
#   scripts/device-batch.sh profile-sections [G]  # ncu's sections (occupancy, stalls, memory)
#                                              # of the custom kernels of one step there
#   scripts/device-batch.sh profile-sass [G]   # ncu's instruction mix and per-SASS-line counts
#                                              # of the staged SSD kernels of one step there
#   scripts/device-batch.sh norm-tiling-check [G] # the gated norm backward's tokens a unit
#                                              # (MSYM_NORM_BWD_PER_UNIT): ncu's time of its launches
#   scripts/device-batch.sh projconv-tiling-check [G] # the fused xBC product + conv's channels
#                                              # a unit and steps unrolled (MSYM_PROJ_CONV_PER, _UNROLL): ncu's time
#   scripts/device-batch.sh matmul-kernel-check [G] # every product by one cubek kernel
#                                              # (MSYM_MATMUL_KERNEL) against burn's matmul: the bench
#   scripts/device-batch.sh profile-fig6 [G]   # the same for fig6's Transformer (d4, R = 36; f32, bf16)
#   scripts/device-batch.sh paths-check [G]    # the speed paths at the binary's defaults vs none
#   T0=$(date +%s) scripts/device-batch.sh box S GPU JOB[@L]... [--side G JOB...]  # one
#                                              # self-contained call: stage, the queue (and a
#                                              # side queue on GPU G) until S s after T0, pack
#   scripts/device-batch.sh unpack DIR NAME [RESULTS]  # (here) a call's returned files (DIR)
#                                              # as carry/NAME, the next call's resume state;
#                                              # or into the results folder RESULTS (no copy)
#   T0=$(date +%s) scripts/device-batch.sh wait S   # sleep until S seconds after T0 (the
#                                              # call's start), or until no job is left
#   scripts/device-batch.sh split DIR MIB OUT  # (here) resume state DIR in carry parts of at
#                                              # most MIB MiB: OUT/1/NAME, OUT/2/NAME, ..
#   scripts/device-batch.sh pack [full]        # logs and results (full: with checkpoints), and
#                                              # the unfinished runs' checkpoints where they fit
#   scripts/device-batch.sh resume NAME [FIRST]  # runs/NAME's unfinished runs with their
#                                              # checkpoints, in parts (4 a call)
#                                              # into $OUT as .tgz parts of 12 MB
#
# Each job writes runs/<job>/ and runs/logs/<job>.log; `start` prints which ran how. Jobs
# run as separate processes (setsid: a command's leftover processes are killed when it
# returns, a new session's are not), each with worker threads where its figure has several
# shape groups; MPS, if `measure` found that it pays, is left running for them.
#
# Resume state goes to the machine in carry/, never as `runs` in the device call's `carry`
# list: a carried path replaces the machine's copy, and replacing runs/ under live jobs
# kills them and loses their checkpoints (2026-11-26, a fig3 row at epoch 144). `stage`
# moves carry/<name> into runs/ only where the machine has no runs/<name>.
set -u
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0") # for `box`, which runs three of its own steps
cd "$(dirname "$0")/.."
export CUBECL_AUTOTUNE_LEVEL=minimal
M=${MSYM_BIN:-/tmp/bin/msym} # MSYM_BIN: another binary (the tests use a mock)
# A warm machine keeps /tmp/bin from the last call: unpack again when the carried binary
# differs from the one unpacked there.
# A call that does not carry bin-xz (to leave room for resume state) uses the unpacked one.
# `split` (here, before a call) and `stage` need no binary.
if [ "${1:-}" = split ] || [ "${1:-}" = stage ] || [ "${1:-}" = torch-merge ] || [ "${1:-}" = resume ] || [ "${1:-}" = pack ] || [ "${1:-}" = cmd ] || [ "${1:-}" = unpack ]; then
    :
elif [ -f bin-xz/msym.xz ]; then
    sum=$(sha1sum bin-xz/msym.xz | cut -c1-40)
    if [ ! -x $M ] || [ "$(cat $M.sha1 2>/dev/null)" != "$sum" ]; then
        mkdir -p /tmp/bin && xz -dc bin-xz/msym.xz >$M && chmod +x $M && echo "$sum" >$M.sha1
    fi
elif [ ! -x $M ]; then
    echo "no binary: carry bin-xz (bin-xz/msym.xz) in this call" >&2
    exit 2
fi
mkdir -p runs/logs
# The speed paths: CHECK:SWITCH (the job that measures one against the plain ops, and the
# environment variable that turns it on (1) or off (0) in msym; unset, the binary's default:
# on since 20967e6, off before; the fused gated norm on since the session after its check
# (binary fb02bc2 and older: off); the fused input RMSNorm and embedding off until their
# checks adopt them; the fused conv + SSD off: its check in session 18 kept it off)
SWITCH_CHECKS="fused-check:MSYM_FUSED_SSD conv-check:MSYM_FUSED_CONV split-check:MSYM_SPLIT_IN_PROJ norm-check:MSYM_FUSED_NORM rms-check:MSYM_FUSED_RMSNORM embed-check:MSYM_FUSED_EMBED keep-check:MSYM_KEEP_FLAT_PARAMS lastq-check:MSYM_LAST_QUERY adam-check:MSYM_FUSED_ADAM convssd-check:MSYM_FUSED_CONV_SSD ce-check:MSYM_FUSED_CE projconv-check:MSYM_FUSED_PROJ_CONV projgrads-check:MSYM_PROJ_CONV_GRADS scores-check:MSYM_SSD_SCORES dt-check:MSYM_FUSED_DT views-check:MSYM_ROW_VIEWS guard-check:MSYM_FUSED_GUARD rows-check:MSYM_IN_PROJ_ROWS linear-check:MSYM_FUSED_LINEAR sums-check:MSYM_GROUP_SUMS lastpos-check:MSYM_LAST_POSITION"
PLAIN=$(for c in $SWITCH_CHECKS; do printf '%s=0 ' ${c#*:}; done) # every speed path off
TF='model={kind="transformer",depth=2,d_model=128,d_k=128,d_v=256,d_ff=128,activation="silu"}'
E5='eval.every_epochs=5'

job_command() { # the command line of job $1 with time limit $2 (minutes), GPUs $3
    local t=$2
    # JOB+PATH: JOB with the speed path of PATH-check (SWITCH_CHECKS) on, whatever the
    # binary's default, e.g. profile+norm, paths-check+rms+embed (plain stays all off).
    # "+fused" is not fused-check's path: it is the checks' verdicts (below).
    local c p
    for c in $SWITCH_CHECKS; do
        p=${c%%-check:*}
        if [ "$p" != fused ] && [ "${1%+$p}" != "$1" ]; then
            echo "env ${c#*:}=1 $(job_command ${1%+$p} $2 "$3")"
            return
        fi
    done
    case $1 in
    *+f32) # JOB+f32: JOB with every matmul in f32 (MSYM_F32_MATMUL; not a speed path, so
        # neither +plain nor the checks' verdicts touch it), into runs/X-f32 beside its TF32 runs/X
        echo "env MSYM_F32_MATMUL=1 $(job_command ${1%+f32} $2 "$3" | sed -E 's#--out runs/([^ ]+)#--out runs/\1-f32#')"
        return ;;
    *+finish) # JOB+finish: JOB resuming only the runs it has checkpoints of, and
        # starting none (`--started-only`): a session's last call, so that at most the runs
        # in flight are left to commit and carry to the next session
        echo "$(job_command ${1%+finish} $2 "$3") --started-only"
        return ;;
    *+fused) # JOB+fused: JOB with each speed path as its check decided (fused-check:
        # the SSD kernels, conv-check: the conv kernels, split-check: the split in_proj):
        # on where adopted, off where kept out; unchecked ones keep the binary's default (on
        # since the 2026-11-26 checks; an older binary's default is off)
        local env="" c
        for c in $SWITCH_CHECKS; do
            grep -q '^adopt' runs/${c%%:*}/verdict.txt 2>/dev/null && env="$env ${c#*:}=1"
            grep -q '^keep' runs/${c%%:*}/verdict.txt 2>/dev/null && env="$env ${c#*:}=0"
        done
        echo "${env:+env$env }$(job_command ${1%+fused} $2 "$3")"
        return ;;
    *+plain) # JOB+plain: JOB on the plain ops (every speed path off), e.g. a row resumed on
        # the path its first runs took
        echo "env $PLAIN$(job_command ${1%+plain} $2 "$3")"
        return ;;
    esac
    dev() { echo "--devices ${1:-$2}"; } # a figure's workers: the given GPUs or the default
    one() { echo "--device cuda${1:+:$1}"; } # a single run
    case $1 in
    supp) echo $M reproduce supp $(dev "$3" 0,0) --set $E5 --time-limit $t --out runs/supp ;;
    fig5b) echo $M reproduce fig5b $(dev "$3" 0,0) --set $E5 --time-limit $t --out runs/fig5b ;;
    fig5a) echo $M reproduce fig5a $(dev "$3" 0,0,0,0,0) --set $E5 --time-limit $t --out runs/fig5a ;;
    fig7_depth) # issue 9's Mamba depth x gamma grid (72 cells, about 4 H200-hours): a sweep,
        # since reproduce has no such figure. One replica a run: session 13's runs of 18 (one
        # a depth) checkpointed 450 MB, about 1.8 MB a replica and layer, more than a call
        # brings back or carries (64 MiB), so they could not resume. At R = 1 a cell takes
        # about 2.4 (depth 2) to 8.2 minutes (depth 5) on an H200 (29.85 ms a step, 16 380
        # steps), so most runs finish inside a call and an unfinished one is about 9 MB.
        # The price: R = 1 trains 0.57-0.61x the replica-steps/s of R = 18 (session 13).
        # Keep 1 when resuming: a run's checkpoint belongs to its exact set of cells.
        echo $M sweep configs/fig7_depth.toml $(dev "$3" 0,0,0,0) --max-replicas 1 --set $E5 --time-limit $t --out runs/fig7_depth ;;
    fig5c_d128) echo $M reproduce fig5c $(dev "$3" 0,0) --set model.d_model=128 --set $E5 --time-limit $t --out runs/fig5c_d128 ;;
    fig7-g05) # issue 9: the whole fig7 at gamma 0.5, which fixed the Transformer's test
        # accuracy in results/fig7-tests (one GPU per variant)
        echo $M reproduce fig7 $(dev "$3" 0,1,2) --set init.gamma=0.5 --set $E5 --time-limit $t --out runs/fig7-g05 ;;
    fig4-seeds) # issue 9: the fig4 model in 3 seeds, keeping the checkpoints around the
        # composite peak (epoch 60 in seed 1) for the analyses, which run on the CPU here
        echo $M train configs/fig4.toml $(one "$3") --seeds 1,2,3 --snapshots 30,45,60,75,90,120,150,180 --set $E5 --time-limit $t --out runs/fig4-seeds ;;
    fig7-tf-gamma) echo $M train configs/fig7.toml $(one "$3") --set "'$TF'" --seeds 1,2,3 --gammas 0.5,0.75,1.0 --set $E5 --time-limit $t --out runs/fig7-tf-gamma ;;
    fig7-tf-firstdim) echo $M train configs/fig7.toml $(one "$3") --set "'$TF'" --set init.rule=first_dim --seeds 1,2,3 --set $E5 --time-limit $t --out runs/fig7-tf-firstdim ;;
    fig7-tf-lr) echo $M train configs/fig7.toml $(one "$3") --set "'$TF'" --seeds 1,2,3 --lrs 2.5e-4,5e-4,1e-3 --set $E5 --time-limit $t --out runs/fig7-tf-lr ;;
    fig7-respe-learned) echo $M train configs/fig7.toml $(one "$3") --set model.residual_around_conv=true --set model.pos_encoding=learned --seeds 1,2,3 --set $E5 --time-limit $t --out runs/fig7-respe-learned ;;
    fig7-respe-gamma) echo $M train configs/fig7.toml $(one "$3") --set model.residual_around_conv=true --set model.pos_encoding=sinusoidal --seeds 1,2,3 --gammas 0.5,1.0 --set $E5 --time-limit $t --out runs/fig7-respe-gamma ;;
    fig3c-* | fig3t-* | fig3e-*) # issue 10 item 3: unstated choices changed on the fig3 cells that
        # miss the paper most. fig3c: depth 2 at gamma 0.8, 0.9, 1.0, 1.5 (3 seeds: one run
        # of 12 replicas on one GPU). fig3t: the transition, depth 7 at gamma 0.5-0.8, where
        # the full sweep missed by 0.10-0.62 (3 seeds: two runs of 6, one a GPU, about 3 s an
        # epoch on an H200). fig3c-A+B changes A and B together.
        local sets="" c
        for c in $(echo ${1#fig3?-} | tr + ' '); do # fig3c-, fig3t-, fig3e-
            case $c in
            seq9) sets="$sets --set task.seq_len=9" ;;       # the 2024 paper's length
            fanin) sets="$sets --set init.rule=fan_in" ;;    # d1 = fan-in, not the first dimension
            tied) sets="$sets --set init.tied_head=true" ;;  # head tied to the embedding
            lr2e-4) sets="$sets --set train.lr_peak=2e-4" ;; # the other peak lr in the papers
            wd0) sets="$sets --set train.weight_decay=0" ;;  # does weight decay drive the late drift?
            # ten times the weight decay: the cells that do not compose fit their data to a
            # loss of 1e-7 (results/fig3, "Final training loss"); does a pull on the weights
            # that stops short of it keep the composite answer?
            wd0.1) sets="$sets --set train.weight_decay=0.1" ;;
            # three more seeds of the same cells: are three seeds enough to place the
            # transition? (depth 7's seed 3 learned at gamma 0.4-0.5, not at 0.6-0.7)
            seeds456) sets="$sets --set 'sweep.grid.seed=[4,5,6]'" ;;
            *) echo "unknown job $1" >&2; return 1 ;;
            esac
        done
        # evaluated every 5 epochs, as supp's gamma-1.0 cell, whose values matched the
        # row's (evaluated every epoch) at every shared epoch; snapshots for `analyze answers`
        case $1 in
        fig3c-*) echo $M sweep configs/fig3.toml $(one "$3")$sets --set $E5 --snapshots 30,60,90,120,150,180 --only model.depth=2 --only init.gamma=0.8,0.9,1.0,1.5 --time-limit $t --out runs/$1 ;;
        # fig3e: the transition's other side, depths 4-6 at gamma 0.9, which turn on earlier
        # than the paper (0.77-0.96 against 0.44-0.55): nine cells, one run on one GPU
        fig3e-*) echo $M sweep configs/fig3.toml $(one "$3")$sets --set $E5 --max-replicas 9 --only model.depth=4,5,6 --only init.gamma=0.9 --time-limit $t --out runs/$1 ;;
        *) echo $M sweep configs/fig3.toml $(dev "$3" 0,0)$sets --set $E5 --max-replicas 6 --only model.depth=7 --only init.gamma=0.5,0.6,0.7,0.8 --time-limit $t --out runs/$1 ;;
        esac ;;
    fig3-d* | fig6-d*) # one phase diagram's depths (fig3-d2,3), each depth cut into runs of
        # at most 9 replicas over the given GPUs; every call grows the same directory.
        # Evaluated every 5 epochs, to spend less time scoring: the lost depth-2 row, scored
        # every epoch, trained about 295 replica-steps/s per H200 (from its log), where a bench
        # of the step alone gave 337-360 (results/bench; not one side-by-side measurement, and
        # the gap includes checkpoints). supp's depth-2 gamma-1.0 cells, scored every 5 epochs,
        # matched that row's at every shared epoch. The paper reports epoch 210, which is
        # scored. Keep it for every depth of one directory: it is part of each cell's id.
        local f=${1%%-d*}
        echo $M reproduce $f $(dev "$3" 0,1,2,3) --max-replicas 9 --set $E5 --only model.depth=${1#*-d} --time-limit $t --out runs/$f ;;
    fig3-spot) # issue 8's spot check: four fig3 cells (depths 2-3 x gamma 1.0, 1.5, seed 1)
        # trained one at a time (R = 1, one GPU each) on the plain ops (every speed path off),
        # the cells' own ids (same config and --set as the fig3 job), for `msym compare
        # runs/fig3-spot results/fig3`: each R = 1 value against the batched row's 3 seeds
        echo env $PLAIN$M sweep configs/fig3.toml $(dev "$3" 0,1,2,3) --max-replicas 1 --set $E5 \
            --only model.depth=2,3 --only init.gamma=1.0,1.5 --only seed=1 --time-limit $t --out runs/fig3-spot ;;
    torch-fig4 | torch-order | fusion-check | fused-check | conv-check | split-check | norm-check | rms-check | embed-check | keep-check | adam-check | ssd-units-check | base-check | host-check | host-profile | f32-check | paths-check | profile | profile-r1 | profile-d4 | profile-sections | profile-sass | norm-tiling-check | projconv-tiling-check | matmul-kernel-check | profile-fig6 | autotune-check | lastq-check | convssd-check | ce-check | projconv-check | kernel-tests | projconv-rounds-check | projgrads-check | scores-check | dt-check | views-check | guard-check | rows-check | linear-check | sums-check | lastpos-check | r1-ab | gradb-check | gradb-ab)
        # this script's own commands on one GPU, as queued jobs: torch-fig4 (issue 10: the
        # fig4 cell in PyTorch; no time limit, no resume), torch-order (fig4's seed 1 in
        # PyTorch on msym's own batches), fusion-check (issue 8: may the sweeps use the
        # fusion build?), fused-, conv- and split-check (issue 8: one speed path against the
        # plain ops, switch_check), paths-check (the three together against none), profile
        # (ncu over one step); each below
        echo bash scripts/device-batch.sh $1 ${3:-0} ;;
    ref-bf16) # issue 9/10 planning: the d_model-400 Transformer (ref, fig6) in f32 and bf16
        # at the sweeps' R = 36 (f32 measured 42.4 replica-steps/s at depth 4, session 5)
        echo $M bench --no-torch --steps 5 --warmup 2 $(one "$3") --config configs/ref.toml --depths 2 \
            --replicas 36 --sweep-depth 4 --precisions f32,bf16 --out runs/ref-bf16 ;;
    bench-full) # issue 8's table: the bench with its defaults (depths 2, 4, 7; R = 1, 12,
        # 36; f32 and bf16) and the PyTorch baseline, eager and compiled, in the same call
        echo $M bench $(one "$3") --out runs/bench-full ;;
    *) echo "unknown job $1" >&2; return 1 ;;
    esac
}

torch_seed() { # S GPU DIR ORDERS [torch_train.py args..]: seed S of the fig4 cell trained by
    # scripts/torch_train.py from msym's own initial weights and data (with the batch order of
    # its first ORDERS epochs, 0: none) into DIR: metrics.csv, cells.json, torch.log, weights/
    local s=$1 g=$2 d=$3 n=$4
    shift 4
    mkdir -p $d
    {
        $M data export configs/fig4.toml --set seed=$s --orders $n --out $d/data --force &&
            $M export configs/fig4.toml --seed $s --out $d/weights --force &&
            CUDA_VISIBLE_DEVICES=$g python3 scripts/torch_train.py --data $d/data \
                --weights $d/weights --out $d/metrics.csv --device cuda "$@"
    } >$d/torch.log 2>&1
    rm -rf $d/data # 15 MB and more, and the first command above writes them again
}

torch_fig4() { # issue 10: the fig4 cell (fig3 depth 3, gamma 1.0) in seeds 1-3 trained by
    # torch_seed: does PyTorch lose the composite answer late in training as msym does
    # (results/fig4-seeds)? $1: the GPUs of seeds 1, 2, 3 (default all on 0). No resume:
    # each seed's metrics.csv grows every 5 epochs, and torch-merge joins what a cut-short
    # call brought back. Timed: 210 epochs in 953 s on an H200 that also trained a fig5a
    # group (results/fig4-torch).
    local gpus=(${1//,/ }) r=runs/torch-fig4 s i=0
    for s in 1 2 3; do
        torch_seed $s ${gpus[$i]:-${gpus[0]:-0}} $r/seed-$s 0 &
        i=$((i + 1))
    done
    wait
    torch_merge $r
}

torch_order() { # the fig4 cell, seed 1, trained by torch_seed on msym's own batch order for
    # 20 epochs (about 2 minutes on an H200): the two trainers then share weights, data and
    # batches and differ only in arithmetic, so their losses at epochs 5..20 should agree far
    # more closely than two shuffles do. The msym side is results/fig4-seeds/run (seed 1 =
    # replica 0, the same run as results/fig4). $1: the GPU.
    torch_seed 1 ${1:-0} runs/torch-order/run 20 --epochs 20 --msym-order
}

ab_check() { # GPU DIR NAME_A "CMD_A" NAME_B "CMD_B": two ways of running msym (a binary, or
    # a binary with an environment) on one GPU: the bench at R = 1 (depths 2, 4) and at the
    # sweeps' run sizes (R = 9, 18, 36 at depth 2), A again last for the card's drift; then the
    # same 5 epochs of nine fig3 depth-2 cells (one run of R = 9, as `--max-replicas 9` cuts
    # the sweep) each way, and the largest relative difference of their metrics.
    # AB_BENCH (the bench's model and sizes; it must time R = 36 at depth 2) and AB_SWEEP (the
    # sweep's config and --only) replace those for another model (lastq-check).
    local g=$1 d=$2 na=$3 a=$4 nb=$5 b=$6 n=0 side cmd
    mkdir -p $d
    for side in "$na:$a" "$nb:$b" "$na:$a"; do
        n=$((n + 1)) cmd=${side#*:}
        echo "== $n: ${side%%:*}"
        $cmd bench --no-torch --steps 10 --warmup 3 --device cuda:$g ${AB_BENCH:---config configs/composite.toml \
            --depths 2,4 --replicas 9,18,36 --sweep-depth 2} --precisions f32 --out $d/bench-$n | grep -E "R = |fused"
    done
    for side in "$na:$a" "$nb:$b"; do
        cmd=${side#*:}
        $cmd sweep ${AB_SWEEP:-configs/fig3.toml --only model.depth=2 --only init.gamma=0.8,0.9,1.0} --device cuda:$g \
            --set train.epochs=5 --set eval.every_epochs=1 --force --out $d/${side%%:*} | tail -n 1
    done
    python3 - $d $na $nb <<'PY'
import csv, glob, json, sys
d, na, nb = sys.argv[1:]
def rows(side):  # empty where that side's sweep wrote no metrics
    paths = glob.glob(f"{d}/{side}/runs/*/metrics.csv")
    return {(r["epoch"], r["replica"]): r for r in csv.DictReader(open(paths[0]))} if paths else {}
p, f = rows(na), rows(nb)
worst = {}
for k in sorted(set(p) & set(f)):
    for c in ("train_loss", "composite_test", "symmetric_test", "seen_test"):
        a, b = float(p[k][c]), float(f[k][c])
        if a == a and b == b:  # train_loss is nan at epoch 0
            worst[c] = max(worst.get(c, 0.0), abs(a - b) / max(abs(a), 1e-12))
print(f"{d}: {len(set(p) & set(f))} (epoch, replica) rows in both {na} and {nb}; largest relative difference:",
      ", ".join(f"{c} {v:.1e}" for c, v in worst.items()))
# epoch by epoch: a reordered sum starts near 1e-7 and grows where the models learn fast
# (fig6's depth-2 cells, 2026-11-27: 5e-7 at epoch 1, 5e-3 at epoch 5); a wrong path starts large
by_epoch = {}
for k in set(p) & set(f):
    a, b = float(p[k]["train_loss"]), float(f[k]["train_loss"])
    if a == a and b == b:
        by_epoch[int(k[0])] = max(by_epoch.get(int(k[0]), 0.0), abs(a - b) / max(abs(a), 1e-12))
print("train_loss, largest relative difference by epoch:", ", ".join(f"{e}: {v:.1e}" for e, v in sorted(by_epoch.items())))
# The verdict `+fused` jobs read: B is adopted when its 5-epoch losses match A's to 1e-3
# (a reordered f32 sum drifts far less than that in 615 steps: results/fig4-torch-order
# had 2e-7 at epoch 5) and its R = 36 throughput at depth 2 beats both of A's bench runs by
# 5%. R = 36, not R = 9: at R = 9 the host bounds the step, and session 21's two base runs
# there were 5% apart (results/bench/session21-h200-2026-11-28, call 7).
def r36(n):  # None where that bench wrote no report (2026-11-27: the autotune build failed)
    paths = glob.glob(f"{d}/bench-{n}/*.json")
    if not paths:
        return None
    b = json.load(open(paths[0]))
    return next((t["replica_steps_per_s"] for t in b["msym_timings"] if t["replicas"] == 36 and t["depth"] == 2), None)
a_runs, b_r36 = [x for x in (r36(1), r36(3)) if x is not None], r36(2)
same = 0.0 < len(set(p) & set(f)) and worst.get("train_loss", 1.0) <= 1e-3
if b_r36 is None or not a_runs:
    failed = [s for s, x in ((na, a_runs or None), (nb, b_r36)) if x is None]
    verdict = f"keep {nb}: the bench of {' and '.join(failed)} wrote no R = 36 report (its log says why)"
else:
    a_best = max(a_runs)
    adopt = same and b_r36 >= 1.05 * a_best
    verdict = (f"{'adopt' if adopt else 'keep'} {nb}: R = 36 {b_r36:.1f} vs {na} {a_best:.1f} replica-steps/s "
               f"({b_r36 / a_best:.2f}x), 5-epoch losses {'match' if same else 'DIFFER'}")
print(verdict)
open(f"{d}/verdict.txt", "w").write(verdict + "\n")
PY
}

fusion_check() { # $1: the GPU. The plain build (M) against burn's fusion build
    # (bin-gpu/msym-fusion.xz): adopted for the sweeps only if faster at R = 9-18 and its
    # metrics match plain's (session 7 measured 1.24x at R = 36 and 2.1x slower at R = 1).
    local F=/tmp/bf/msym
    [ -f bin-gpu/msym-fusion.xz ] || { echo "fusion-check: carry bin-gpu (bin-gpu/msym-fusion.xz)" >&2; return 2; }
    mkdir -p /tmp/bf && xz -dc bin-gpu/msym-fusion.xz >$F && chmod +x $F
    ab_check ${1:-0} runs/fusion-check plain "env $PLAIN$M" fusion "$F"
}

ncu_bench() { # DIR GPU BENCH_ARGS..: ncu's duration of every kernel of two timed steps of
    # `msym bench` into DIR/ncu.csv.xz (its log DIR/ncu.log), then the last step's kernels
    # by name (scripts/ncu_summary.py) into DIR/summary.txt
    local d=$1 g=$2
    shift 2
    mkdir -p $d
    $(command -v ncu || echo /usr/local/cuda/bin/ncu) --clock-control none --metrics gpu__time_duration.sum --csv \
        $M bench --no-torch --device cuda:$g "$@" --steps 2 --warmup 1 --out $d/bench >$d/ncu.csv 2>$d/ncu.log
    xz -f -T4 $d/ncu.csv && python3 scripts/ncu_summary.py $d/ncu.csv.xz 30 | tee $d/summary.txt
}

autotune_check() { # $1: the GPU. The default build (M: every matmul takes cubek's
    # Strategy::Auto) against burn's autotune build (bin-xz/msym-autotune.xz, from
    # `scripts/prepare-device.sh --autotune`): ab_check on the fig3 model, then fig6's
    # Transformer (depth 4, R = 36, f32 and bf16: its matmuls ran at 40 / 63 TFLOP/s in session
    # 14's ncu profile) each way. Each bench report says what its f32 matmul computed like.
    local A=/tmp/ba/msym g=${1:-0} side
    [ -f bin-xz/msym-autotune.xz ] || { echo "autotune-check: no bin-xz/msym-autotune.xz (scripts/prepare-device.sh --autotune)" >&2; return 2; }
    mkdir -p /tmp/ba && xz -dc bin-xz/msym-autotune.xz >$A && chmod +x $A
    ab_check $g runs/autotune-check default "$M" autotune "$A"
    for side in "default:$M" "autotune:$A"; do
        echo "== fig6 Transformer: ${side%%:*}"
        ${side#*:} bench --no-torch --steps 5 --warmup 3 --device cuda:$g --config configs/fig6.toml --depths 4 \
            --replicas 36 --sweep-depth 4 --precisions f32,bf16 --out runs/autotune-check/fig6-${side%%:*} | grep -E "computes like"
    done
}

lastq_check() { # $1: the GPU. The last block at the last position alone (MSYM_LAST_QUERY)
    # off and on, on fig6's Transformer (the path exists only there): the bench at depths 2
    # and 4 (R = 1) and at depth 2, R = 9 and 36, then 5 epochs of fig6's nine depth-2 cells
    # at gamma 0.5, 1.0, 1.5, each way; the verdict as every check's.
    AB_BENCH="--config configs/fig6.toml --depths 2,4 --replicas 9,36 --sweep-depth 2" \
        AB_SWEEP="configs/fig6.toml --only model.depth=2 --only init.gamma=0.5,1.0,1.5" \
        ab_check ${1:-0} runs/lastq-check without "env MSYM_LAST_QUERY=0 $M" lastq "env MSYM_LAST_QUERY=1 $M"
}

ssd_units_check() { # GPU: the fused SSD kernels' units a cube (MSYM_SSD_UNITS="FORWARD,BACKWARD")
    # against the default (256 and 256 at fig3's sizes: the backward's L x N loop sets it; the
    # forward's widest loop is 64 wide, so 3 of 4 units idle and 8 cubes fill an SM), by the
    # bench at depth 2, R = 9 and 36 and depth 4, R = 36, the default first and last for the
    # card's drift. No training: the units change no bit (crates/kernels/tests/ssd_wgpu.rs).
    local g=${1:-0} d=runs/ssd-units-check u n=0
    mkdir -p $d
    for u in default 64,256 128,256 64,64 64,128 default; do
        n=$((n + 1))
        echo "== $n: $u"
        if [ $u = default ]; then set -- env -u MSYM_SSD_UNITS; else set -- env MSYM_SSD_UNITS=$u; fi
        "$@" $M bench --no-torch --steps 20 --warmup 3 --device cuda:$g --config configs/composite.toml \
            --depths 2 --replicas 9,36 --sweep-depth 2 --precisions f32 --out $d/bench-$n | grep -E "R = "
        "$@" $M bench --no-torch --steps 10 --warmup 3 --device cuda:$g --config configs/composite.toml \
            --depths 4 --replicas 36 --sweep-depth 4 --precisions f32 --out $d/bench-$n-d4 | grep -E "R = 36"
    done
}

gradb_check() { # GPU: the linear layers' weight-gradient groups (MSYM_GRAD_BATCHES: the least
    # R x G; unset, G = 128 at fig3's batch whatever R, 4608 batches at R = 36) by the bench at
    # depth 4 and depth 2, R = 36, the default first and last for the card's drift. Other bits
    # (the weight gradients' sums), so a winner then needs gradb-ab's accuracy A/B.
    local g=${1:-0} d=runs/gradb-check b n=0
    mkdir -p $d
    for b in default 2304 1152 576 288 default; do
        n=$((n + 1))
        echo "== $n: $b"
        if [ $b = default ]; then set -- env -u MSYM_GRAD_BATCHES; else set -- env MSYM_GRAD_BATCHES=$b; fi
        "$@" $M bench --no-torch --steps 10 --warmup 3 --device cuda:$g --config configs/composite.toml \
            --depths 4 --replicas 36 --sweep-depth 4 --precisions f32 --out $d/bench-$n-d4 | grep -E "R = 36"
        "$@" $M bench --no-torch --steps 10 --warmup 3 --device cuda:$g --config configs/composite.toml \
            --depths 2 --replicas 36 --sweep-depth 2 --precisions f32 --out $d/bench-$n-d2 | grep -E "R = 36"
    done
}

gradb_ab() { # GPU: MSYM_GRAD_BATCHES=$GRADB (default 1152) against unset, ab_check's way, but
    # its 5 epochs on fig3's 36 depth-2 cells as one run of R = 36: at R = 9 the setting leaves
    # G at 128 (the rule's cap), so ab_check's usual nine cells would compare equal bits
    local b=${GRADB:-1152}
    AB_SWEEP="configs/fig3.toml --only model.depth=2" ab_check ${1:-0} runs/gradb-ab without \
        "env -u MSYM_GRAD_BATCHES $M" gradb$b "env MSYM_GRAD_BATCHES=$b $M"
}

norm_tiling_check() { # GPU: the gated norm backward's most tokens a unit a batch
    # (MSYM_NORM_BWD_PER_UNIT) against the default (4 since session 21, whose call 1 ran this with
    # the forward's 8 as the default: 76 registers, 3 cubes an SM on an H200) by ncu's time and registers of the 9 norm backward launches of
    # one depth-4, R = 36 step (4 gated, 5 plain; R = 1's 3 steps and R = 36's warm-up skipped),
    # the default first and last for the card's drift. No training: the walk changes no bit
    # (crates/kernels/tests/norm_wgpu.rs).
    ncu_setting_check "${1:-0}" runs/norm-tiling-check MSYM_NORM_BWD_PER_UNIT gated_norm_backward_kernel 9 \
        "tokens a unit" default 8 2 1 default
}

projconv_tiling_check() { # GPU: the fused xBC product + conv forward (on for this job) by its
    # channels a unit (MSYM_PROJ_CONV_PER) against its default (2 since call 3 of session 22; 5
    # before), then by its steps over D unrolled at once (MSYM_PROJ_CONV_UNROLL) at 5 and at 2
    # channels a unit: ncu's time, registers and occupancy of the 4 launches of one depth-4,
    # R = 36 step, each series' default first and last. No training: the tiling changes no bit
    # (crates/kernels/tests/proj_conv_wgpu.rs).
    local d=runs/projconv-tiling-check
    MSYM_FUSED_PROJ_CONV=1 ncu_setting_check "${1:-0}" $d/per MSYM_PROJ_CONV_PER proj_conv_silu_forward_kernel 4 \
        "channels a unit" default 5 4 1 default
    for p in 5 2; do
        MSYM_FUSED_PROJ_CONV=1 MSYM_PROJ_CONV_PER=$p ncu_setting_check "${1:-0}" $d/unroll-per$p MSYM_PROJ_CONV_UNROLL \
            proj_conv_silu_forward_kernel 4 "channels a unit $p, steps unrolled" default 8 4 1 default
    done
}

kernel_tests() { # GPU: each test binary of bin-xz/kernel-tests (the kernels' GPU-only tests,
    # which lavapipe cannot run: tensor cores) on GPU G, its output in runs/kernel-tests/NAME.log
    # and a PASS or FAIL line in runs/kernel-tests/summary.txt; exit 1 where one fails or none is there
    local g=$1 d=runs/kernel-tests f n failed=0
    mkdir -p $d /tmp/bin/kernel-tests
    : >$d/summary.txt
    ls bin-xz/kernel-tests/*.xz >/dev/null 2>&1 || {
        echo "FAIL: no bin-xz/kernel-tests/*.xz (scripts/prepare-device.sh builds them)" | tee -a $d/summary.txt
        return 1
    }
    for f in bin-xz/kernel-tests/*.xz; do
        n=$(basename $f .xz)
        xz -dc $f >/tmp/bin/kernel-tests/$n && chmod +x /tmp/bin/kernel-tests/$n
        if CUDA_VISIBLE_DEVICES=$g /tmp/bin/kernel-tests/$n --test-threads=1 >$d/$n.log 2>&1; then
            echo "PASS $n"
        else
            echo "FAIL $n (runs/kernel-tests/$n.log)"
        fi | tee -a $d/summary.txt
        grep -q "^FAIL $n" $d/summary.txt && failed=1
    done
    return $failed
}

projconv_rounds_check() { # GPU: the fused xBC product + conv forward's tensor-core form (on for
    # this job) by its groups a cube (MSYM_PROJ_CONV_ROUNDS), the default (16) first and last:
    # ncu's time, registers and occupancy of its 4 launches in one depth-4, R = 36 step. No
    # training: the groups a cube change no bit (crates/kernels/tests/proj_conv_mma_cuda.rs).
    MSYM_FUSED_PROJ_CONV=1 ncu_setting_check "${1:-0}" runs/projconv-rounds-check MSYM_PROJ_CONV_ROUNDS \
        proj_conv_mma_forward_kernel 4 "groups a cube" default 4 64 1 default
}

ncu_setting_check() { # GPU DIR VAR KERNEL K WHAT SETTING...: ncu's time, registers and occupancy
    # of the K launches of KERNEL a step in one depth-4, R = 36 step (R = 1's 3 steps and
    # R = 36's warm-up skipped: 4 K launches) under each SETTING of the variable VAR ("default":
    # unset), into DIR/N-SETTING.csv
    local g=$1 d=$2 v=$3 kernel=$4 k=$5 what=$6 c n=0 ncu
    shift 6
    ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
    mkdir -p $d
    for c in "$@"; do
        n=$((n + 1))
        if [ $c = default ]; then set -- env -u $v; else set -- env $v=$c; fi
        "$@" $ncu --clock-control none --launch-skip $((4 * k)) --launch-count $k \
            --kernel-name "regex:^$kernel" --csv \
            --metrics gpu__time_duration.sum,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active \
            $M bench --no-torch --device cuda:$g --config configs/composite.toml --depths 4 --replicas 36 \
            --sweep-depth 4 --precisions f32 --steps 2 --warmup 1 --out $d/bench-$n >$d/$n-$c.csv 2>$d/$n-$c.log
        echo "== $n: $what $c: $(grep -c gpu__time_duration $d/$n-$c.csv) launches timed"
    done
}

matmul_kernel_check() { # GPU: every product by one cubek kernel (MSYM_MATMUL_KERNEL, through
    # kernels::burn_op_matmul) against burn's matmul, first and last for the card's drift; the
    # op with burn's own kernel (cyclic-cmma) is the control. The bench only, depth 4 and 2 at
    # R = 36 (the matmuls' share of a step is largest there). Other kernels may sum in another
    # order: a winner needs an accuracy A/B (ab_check) before it becomes a default.
    local g=${1:-0} d=runs/matmul-kernel-check k n=0
    mkdir -p $d
    for k in burn cyclic-cmma cyclic-mma double-cyclic-cmma double-cyclic-mma burn; do
        n=$((n + 1))
        echo "== $n: $k"
        if [ $k = burn ]; then set -- env -u MSYM_MATMUL_KERNEL; else set -- env MSYM_MATMUL_KERNEL=$k; fi
        "$@" $M bench --no-torch --steps 10 --warmup 3 --device cuda:$g --config configs/composite.toml \
            --depths 4 --replicas 36 --sweep-depth 4 --precisions f32 --out $d/bench-$n-d4 >$d/$n-$k-d4.log 2>&1 ||
            echo "$k: exit $? ($(tail -n 1 $d/$n-$k-d4.log))"
        grep -E "R = 36" $d/$n-$k-d4.log
        "$@" $M bench --no-torch --steps 10 --warmup 3 --device cuda:$g --config configs/composite.toml \
            --depths 2 --replicas 36 --sweep-depth 2 --precisions f32 --out $d/bench-$n-d2 >$d/$n-$k-d2.log 2>&1 ||
            echo "$k: exit $?"
        grep -E "R = 36" $d/$n-$k-d2.log
    done
}

host_check() { # GPU: where R = 1's step goes on the host (the bench's host_ms: forward,
    # backward and optimizer, no device sync inside the step) at depths 2, 4 and 7, 300
    # steps, the fused optimizer tail off and on, interleaved twice (R = 1 drifts by 10-25%
    # between processes, results/bench/session16-h200-2026-11-27)
    mkdir -p runs/host-check
    r1_runs ${1:-0} runs/host-check/bench "env MSYM_FUSED_ADAM=0 $M" "env MSYM_FUSED_ADAM=1 $M"
}

r1_runs() { # GPU OUT CMD_A CMD_B: the bench at R = 1 (depths R1_DEPTHS, default 2,4,7; 300
    # steps) with A, B, A, B, .. (R1_PAIRS pairs, default 2) into OUT-1, OUT-2, ..: R = 1
    # drifts by 10-25% between processes, so a claim needs interleaved pairs, not one run each
    local g=$1 out=$2 n=0 cmd
    for cmd in $(for _ in $(seq ${R1_PAIRS:-2}); do echo A B; done); do
        n=$((n + 1))
        [ $cmd = A ] && cmd=$3 || cmd=$4
        echo "== R = 1, $n: $cmd"
        $cmd bench --no-torch --steps 300 --warmup 20 --device cuda:$g --config configs/composite.toml \
            --depths ${R1_DEPTHS:-2,4,7} --replicas 1 --sweep-depth 4 --precisions f32 --out $out-$n
    done
}

r1_ab() { # GPU: R1_A's settings (environment assignments) against R1_B's at R = 1 only, in
    # R1_PAIRS interleaved pairs (default 6) at depths R1_DEPTHS (default 4), into runs/r1-ab;
    # then each pair's ratio and the means (the settings' effect is often below the drift of
    # one pair: session 27)
    local d=runs/r1-ab
    rm -rf $d && mkdir -p $d
    echo "A: ${R1_A:-} / B: ${R1_B:-}" | tee $d/settings.txt
    R1_PAIRS=${R1_PAIRS:-6} R1_DEPTHS=${R1_DEPTHS:-4} r1_runs ${1:-0} $d/r1 "env ${R1_A:-} $M" "env ${R1_B:-} $M"
    python3 - $d <<'PY' | tee $d/summary.txt
import glob, json, sys
d = sys.argv[1]
runs = sorted(glob.glob(f"{d}/r1-*/*.json"), key=lambda p: int(p.rsplit("/r1-", 1)[1].split("/")[0]))
ms = [json.load(open(p))["ms_per_step"] for p in runs]
for k in sorted({k for m in ms for k in m}):
    a = [m[k] for m in ms[0::2] if k in m]
    b = [m[k] for m in ms[1::2] if k in m]
    pairs = " ".join(f"{x:.2f}/{y:.2f}" for x, y in zip(a, b))
    if a and b:
        print(f"{k}: A/B pairs {pairs}; mean A {sum(a)/len(a):.3f} B {sum(b)/len(b):.3f} ms, "
              f"A/B {sum(a)/sum(b):.3f}x, B faster in {sum(x > y for x, y in zip(a, b))} of {len(b)} pairs")
PY
}

host_profile() { # GPU: the bench at R = 1, depths 2 and 4, 1000 timed steps, with the host
    # profiler on (MSYM_HOST_PROFILE, 1000 samples a CPU second); its folded stacks and their
    # summary (scripts/host_profile_summary.py) into runs/host-profile
    local g=${1:-0} d=runs/host-profile f
    mkdir -p $d
    env MSYM_HOST_PROFILE=$d/folded $M bench --no-torch --steps 1000 --warmup 20 --device cuda:$g --config configs/composite.toml \
        --depths 2,4 --replicas 1 --sweep-depth 4 --precisions f32 --out $d/bench
    for f in $d/folded/*.folded; do
        [ -f "$f" ] && python3 scripts/host_profile_summary.py $f 40 >$d/summary-$(basename $f .folded).txt
    done
    xz -f -T4 $d/folded/*.folded 2>/dev/null
    head -n 40 $d/summary-*.txt
}

base_check() { # GPU: this build (M) against an earlier one (bin-xz/msym-base.xz, copied
    # from an earlier prepare-device.sh's bin-xz/msym.xz), for a change with no switch of its
    # own (the staged SSD kernels, which give the same bits: the 5-epoch metrics must match).
    local B=/tmp/bb/msym
    [ -f bin-xz/msym-base.xz ] || { echo "base-check: no bin-xz/msym-base.xz (copy an earlier build's bin-xz/msym.xz there)" >&2; return 2; }
    mkdir -p /tmp/bb && xz -dc bin-xz/msym-base.xz >$B && chmod +x $B
    echo "base: $($B info 2>&1 | head -n 1)"
    echo "head: $($M info 2>&1 | head -n 1)"
    ab_check ${1:-0} runs/base-check base "$B" head "$M"
    r1_runs ${1:-0} runs/base-check/r1 "$B" "$M"
}

switch_var() { # CHECK: its speed path's variable in SWITCH_CHECKS (nothing for another job)
    local c
    for c in $SWITCH_CHECKS; do [ "${c%%:*}" = "$1" ] && echo ${c#*:}; done
    return 0
}

switch_check() { # CHECK GPU: the same binary with the binary's defaults but CHECK's speed
    # path off ("without") and on (SWITCH_CHECKS), into runs/CHECK with its verdict.
    # Until session 12 the baseline was the plain ops (every switch 0): that measures a path
    # at its smallest share of the step. The gated norm gave 1.049x alone against the plain
    # ops at R = 9 (verdict "keep"), and 1.20x with the other paths on, as fig3 runs it.
    local v
    v=$(switch_var $1)
    [ -n "$v" ] && ab_check ${2:-0} runs/$1 without "env $v=0 $M" ${1%-check} "env $v=1 $M"
    return 0
}

paths_check() { # GPU: every speed path off against the binary's defaults (all three on)
    ab_check ${1:-0} runs/paths-check plain "env $PLAIN$M" paths "$M"
}

torch_merge() { # $1: torch-fig4's directory. The seeds that wrote metrics as one run,
    # $1/run (replica i = the i-th such seed), for `msym compare results/fig4-seeds/run
    # $1/run` (seed against seed, both sides' means); also here, on what a call brought back
    # from seeds the call's end cut short.
    local r=$1
    python3 - $r <<'PY'
import csv, json, os, sys
r = sys.argv[1]
os.makedirs(f"{r}/run", exist_ok=True)
cells, rows, cols = [], [], None
for i, s in enumerate((1, 2, 3)):
    d = f"{r}/seed-{s}"
    if not os.path.exists(f"{d}/metrics.csv"):
        continue
    cells += json.load(open(f"{d}/cells.json"))
    for row in csv.DictReader(open(f"{d}/metrics.csv")):
        cols = cols or list(row)
        row["replica"] = str(len(cells) - 1)
        rows.append(row)
if not cells:
    sys.exit(f"torch-fig4: no seed wrote metrics.csv; see {r}/seed-*/torch.log")
rows.sort(key=lambda x: (int(x["epoch"]), int(x["replica"])))
json.dump(cells, open(f"{r}/run/cells.json", "w"))
with open(f"{r}/run/metrics.csv", "w", newline="") as f:
    w = csv.DictWriter(f, cols)
    w.writeheader()
    w.writerows(rows)
PY
}

resume_flag() { # a `train` job whose directory already holds a run continues it
    case $1 in fig7-g05) ;; fig7-* | fig4-seeds) [ -f runs/$1/cells.json ] && echo --resume ;; esac
}

full_command() { # job_command's line, with --resume where the job continues a run
    local c
    c=$(job_command "$@") || return 1
    # A job of one run takes one GPU: `fig3e-tied@0,0` became `--device cuda:0,0`, which msym
    # refused only once the queue reached it (2026-11-27, GPU 0 idle for 6.5 minutes).
    if [[ $c =~ --device\ cuda:[0-9]*, ]]; then
        echo "job $1 trains on one GPU (--device); give it one, not the list $3" >&2
        return 1
    fi
    echo "$c $(resume_flag $1)"
}

job_at() { # GPU JOB[@L] MIN: full_command of JOB on GPUs L where given, else on GPU
    local d=$1 j=${2%%@*}
    [ "$j" != "$2" ] && d=${2#*@}
    full_command $j $3 $d
}

measure() { # one short supp (2 groups of 3 replicas, depth 2): how to share one GPU
    local short="--set train.epochs=20 --set train.warmup_epochs=2 --set train.cosine_epochs=18 --set eval.every_epochs=10"
    local r=runs/concurrency
    rm -rf $r && mkdir -p $r
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $r/card.txt
    $M sweep configs/supp.toml $short --device cuda --out $r/warm >$r/warm.log 2>&1 # compile kernels once
    t0=$(date +%s.%N)
    $M sweep configs/supp.toml $short --devices 0 --out $r/one-worker >$r/one-worker.log 2>&1
    t1=$(date +%s.%N)
    $M sweep configs/supp.toml $short --devices 0,0 --out $r/two-workers >$r/two-workers.log 2>&1
    t2=$(date +%s.%N)
    $M train configs/supp.toml $short --device cuda --seeds 1,2,3 --out $r/proc-a >$r/proc-a.log 2>&1 &
    $M train configs/supp.toml $short --device cuda --seeds 1,2,3 --set model.gated_residual=true --out $r/proc-b >$r/proc-b.log 2>&1
    wait
    t3=$(date +%s.%N)
    local mps=none
    if command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d; then
        sleep 1
        timeout 300 $M train configs/supp.toml $short --device cuda --seeds 1,2,3 --out $r/mps-a >$r/mps-a.log 2>&1 &
        timeout 300 $M train configs/supp.toml $short --device cuda --seeds 1,2,3 --set model.gated_residual=true --out $r/mps-b >$r/mps-b.log 2>&1
        local rb=$?
        wait $!
        local ra=$?
        mps=$(date +%s.%N)
        [ $ra -eq 0 ] && [ $rb -eq 0 ] || mps=failed
    fi
    python3 - "$t0" "$t1" "$t2" "$t3" "$mps" <<'EOF' | tee $r/result.txt
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
one, two, procs = t1 - t0, t2 - t1, t3 - t2
print(f"wall s: one worker {one:.1f}, two workers (threads, one process) {two:.1f}, two processes {procs:.1f}", end="")
m = sys.argv[5]
if m not in ("none", "failed"):
    print(f", two processes under MPS {float(m) - t3:.1f}")
    mode = "mps" if float(m) - t3 < 0.9 * procs else "plain"
else:
    print(f", MPS {m}")
    mode = "plain"
print(f"mode {mode}")
print("processes", "overlap" if mode == "mps" or procs < 0.8 * one else "serialize")
EOF
    if grep -q "mode plain" $r/result.txt && [ "$mps" != none ]; then
        echo quit | nvidia-cuda-mps-control 2>/dev/null
    fi
}

# Copies into DST what DST lacks from SRC: a missing file, or a missing folder whole; what
# the machine has is kept (it may be newer). So resume state too large for one call's carry
# arrives in parts, e.g. a sweep's runs/<id> folders over several calls, all staged before
# the job starts (a job started on a part would train the missing groups from scratch).
merge_missing() {
    local e
    for e in "$1"/* ; do
        [ -e "$e" ] || continue
        local t=$2/$(basename "$e")
        if [ ! -e "$t" ]; then
            cp -r "$e" "$t" && echo "staged $t"
        elif [ -d "$e" ] && [ -d "$t" ] && [ "$(basename "$(dirname "$t")")" != runs ]; then
            merge_missing "$e" "$t" # a run folder (runs/<id>) is one unit: never mixed
        fi
    done
}

finished_run() { # whether run folder $1's summary.json says finished
    python3 -c "import json,sys; sys.exit(0 if json.load(open('$1/summary.json')).get('finished') else 1)" 2>/dev/null
}

unfinished_runs() { # runs/$1's run folders whose summary.json does not say finished
    local r
    for r in runs/$1/runs/*/; do
        [ -d "$r" ] || continue
        finished_run "$r" || echo "${r%/}"
    done
}

resume_parts() { # NAME FIRST MAX: parts FIRST.. (at most MAX) of runs/NAME's unfinished runs
    # as one deterministic tar into $OUT (see `resume`)
    local name=$1 first=$2 max=$3 mb=${PART_MB:-15} tmp parts i
    local unfinished=($(unfinished_runs $name))
    [ ${#unfinished[@]} -gt 0 ] || { echo "runs/$name: every run finished, nothing to resume"; return 0; }
    tmp=$(mktemp -d)
    tar cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "${unfinished[@]}" |
        split -b ${mb}m - $tmp/$name-resume.tar.
    parts=($(ls $tmp))
    echo "${#unfinished[@]} unfinished runs of runs/$name, ${#parts[@]} parts of $mb MB: ${unfinished[*]}"
    for ((i = first; i < ${#parts[@]} && i < first + max; i++)); do mv $tmp/${parts[$i]} $OUT/; done
    [ $((first + max)) -lt ${#parts[@]} ] && echo "parts $((first + max)).. remain: call again with FIRST = $((first + max))"
    rm -rf $tmp
}

unstaged() { # job $1 (JOB[@GPUS]): prints X and succeeds where the job writes runs/X, this
    # machine has no runs/X and the repository's results/X holds at least one committed run
    local x
    x=$(job_command "${1%%@*}" 1 "" 2>/dev/null | grep -o -- '--out runs/[^ ]*') || return 1
    x=${x#--out runs/}
    [ ! -e "runs/$x" ] && ls -d "results/$x"/runs/*/ >/dev/null 2>&1 && echo "$x"
}

case ${1:-} in
stage)
    # carry/NAME, or the parts of one resume state prepared as carry1/NAME, carry2/NAME, ..
    # (each call's carry list names its own folder, so every call is ready before the
    # first: a warm machine waits 30 s between calls, not the minutes a part takes to make)
    for d in carry/*/ carry[0-9]*/*/; do
        [ -d "$d" ] || continue
        n=$(basename $d)
        if [ -e runs/$n ]; then
            merge_missing $d runs/$n
        else
            mv $d runs/$n && echo "staged runs/$n"
        fi
    done
    ;;
preflight)
    # The CUDA path is untested by CI (no GPU there): two real steps before any job, so a
    # kernel that fails to launch costs seconds, not a call.
    env $PLAIN timeout 300 $M bench --no-torch --device cuda:0 --config ${2:-configs/composite.toml} --depths 2 \
        --replicas 2 --sweep-depth 2 --precisions f32 --steps 2 --warmup 1 --out /tmp/preflight \
        >runs/logs/preflight.log 2>&1
    rc=$?
    # the fused SSD and conv kernels and the split in_proj too, where the binary has them (a
    # failure there stops only them)
    env $(for c in $SWITCH_CHECKS; do echo ${c#*:}=1; done) timeout 300 $M bench --no-torch --device cuda:0 --config ${2:-configs/composite.toml} \
        --depths 2 --replicas 2 --sweep-depth 2 --precisions f32 --steps 2 --warmup 1 \
        --out /tmp/preflight-fused >runs/logs/preflight-fused.log 2>&1 &&
        grep -E "ms/step|fused" runs/logs/preflight-fused.log | sed 's/^/speed paths: /' ||
        echo "speed paths' preflight FAILED: see runs/logs/preflight-fused.log (do not run fused-check, conv-check, split-check, norm-check, rms-check, embed-check or keep-check)"
    grep -E "ms/step|error" runs/logs/preflight.log
    [ $rc -eq 0 ] && echo "preflight passed" || { echo "preflight FAILED (rc $rc): see runs/logs/preflight.log"; exit 1; }
    ;;
split) # here, not on the machine: split-carry the resume state DIR (a sweep or reproduce
    # directory) into OUT/1/NAME, OUT/2/NAME, .. of at most MIB MiB each, NAME = DIR's name.
    # Part 1 holds the top-level files, cells/ and the finished runs without checkpoints (a
    # finished run is not resumed); the unfinished runs/<id> go whole into parts, largest
    # first. Send part k as carry/NAME in call k and `stage` each: stage merges them.
    python3 - "${2:?DIR}" "${3:?MIB}" "${4:?OUT}" <<'PY'
import json, os, shutil, sys
src, mib, out = sys.argv[1].rstrip("/"), float(sys.argv[2]), sys.argv[3]
name, cap = os.path.basename(src), mib * 2**20
if os.path.exists(out):
    sys.exit(f"{out} exists; split writes a new folder")
def size(p):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs) if os.path.isdir(p) else os.path.getsize(p)
def finished(run):
    try:
        return json.load(open(os.path.join(run, "summary.json"))).get("finished", False)
    except OSError:
        return False
runs = os.path.join(src, "runs")
ids = sorted(os.listdir(runs)) if os.path.isdir(runs) else []
parts = [[]]  # part 1: everything but the unfinished runs
for e in sorted(os.listdir(src)):
    if e != "runs":
        parts[0].append((os.path.join(src, e), os.path.join(e), None))
for i in ids:
    if finished(os.path.join(runs, i)):
        parts[0].append((os.path.join(runs, i), os.path.join("runs", i), ".safetensors"))
used = [sum(size(p) for p, _, skip in parts[0] if skip is None) + sum(
    size(os.path.join(p, f)) for p, _, skip in parts[0] if skip for f in os.listdir(p) if not f.endswith(skip))]
for i in sorted((i for i in ids if not finished(os.path.join(runs, i))), key=lambda i: -size(os.path.join(runs, i))):
    n = size(os.path.join(runs, i))
    if n > cap:
        sys.exit(f"runs/{i} alone is {n / 2**20:.1f} MiB, more than {mib} MiB: no part can carry it")
    k = next((k for k in range(len(parts)) if used[k] + n <= cap), None)
    if k is None:
        parts.append([]), used.append(0)
        k = len(parts) - 1
    parts[k].append((os.path.join(runs, i), os.path.join("runs", i), None))
    used[k] += n
for k, part in enumerate(parts, 1):
    for path, rel, skip in part:
        dst = os.path.join(out, str(k), name, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.isdir(path):
            shutil.copytree(path, dst, ignore=shutil.ignore_patterns("*" + skip) if skip else None)
        else:
            shutil.copy2(path, dst)
    print(f"part {k}: {used[k - 1] / 2**20:.1f} MiB in {os.path.join(out, str(k), name)}: " +
          ", ".join(rel for _, rel, _ in part))
PY
    ;;
torch-fig4) torch_fig4 "${2:-0}" ;;
torch-merge) torch_merge "${2:?DIR}" ;;
torch-order) torch_order "${2:-0}" ;;
fusion-check) fusion_check "${2:-0}" ;;
autotune-check) autotune_check "${2:-0}" ;;
lastq-check) lastq_check "${2:-0}" ;;
paths-check) paths_check "${2:-0}" ;;
profile-fig6) # issues 8 and 10: where the Transformer step's time goes (fig6 is 27-35
    # H200-hours at 45-58 replica-steps/s, about 23 TFLOP/s at depth 4, R = 36): ncu over
    # `msym bench` of configs/fig6.toml at depth 4, R = 36, in f32 and in bf16 (one process
    # each), then the last step's kernels by name. About 4.5 minutes (session 14, an H200).
    for prec in f32 bf16; do
        ncu_bench runs/profile-fig6/$prec ${2:-0} --config configs/fig6.toml --depths 4 --replicas 36 \
            --sweep-depth 4 --precisions $prec
    done
    ;;
profile) # issue 8: where one training step's kernel time goes now, with the binary's
    # defaults (the speed paths on): ncu's duration of every kernel of `msym bench` at depth
    # 2, R = 1 and 36 (as the profiles in results/bench/ncu-*), then the last step's kernels
    # by name (scripts/ncu_summary.py). About 2 minutes; runs/profile comes back with `pack`.
    ncu_bench runs/profile ${2:-0} --config configs/composite.toml --depths 2 --replicas 36 \
        --sweep-depth 2 --precisions f32
    ;;
profile-r1) # the same for one run (R = 1) at depth 4: the device's share of a step that the
    # host bounds (the kernels' time against the bench's ms a step)
    ncu_bench runs/profile-r1 ${2:-0} --config configs/composite.toml --depths 4 --replicas 1 \
        --sweep-depth 4 --precisions f32
    ;;
profile-d4) # the same at the sweep estimate's size: depth 4, R = 36
    ncu_bench runs/profile-d4 ${2:-0} --config configs/composite.toml --depths 4 --replicas 36 \
        --sweep-depth 4 --precisions f32
    ;;
profile-sections) # why the custom kernels take what they take: ncu's throughput, occupancy,
    # launch, warp-stall, scheduler and memory sections of the custom kernels of one depth-4,
    # R = 36 step (K = 34 of them a step). The bench times R = 1 first at the same depth, 3
    # steps each (1 warm-up, 2 timed): skipping 4 K matching launches lands in R = 36's
    # second step whatever the R = 1 side adds. ncu's details page into DIR/sections.txt.xz.
    d=runs/profile-sections k=34
    mkdir -p $d
    $(command -v ncu || echo /usr/local/cuda/bin/ncu) --clock-control none --launch-skip $((4 * k)) --launch-count $k \
        --kernel-name 'regex:^(ssd_(forward|backward)_staged|conv_silu_(forward|backward)|gated_norm_(forward|backward))_kernel' \
        --page details --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats \
        --section SchedulerStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
        $M bench --no-torch --device cuda:${2:-0} --config configs/composite.toml --depths 4 --replicas 36 \
        --sweep-depth 4 --precisions f32 --steps 2 --warmup 1 --out $d/bench >$d/sections.txt 2>$d/ncu.log
    xz -f -T4 $d/sections.txt
    ;;
profile-sass) # which instructions the staged SSD kernels issue and stall on: ncu's instruction
    # statistics, warp states and source counters of one depth-4, R = 36 step's 8 SSD launches
    # (4 forward, then 4 backward; R = 1's 3 steps and R = 36's warm-up skipped, as above),
    # as the details page and the per-SASS-line page (csv), both xz'd
    d=runs/profile-sass k=8 ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
    mkdir -p $d
    $ncu --clock-control none --launch-skip $((4 * k)) --launch-count $k \
        --kernel-name 'regex:^ssd_(forward|backward)_staged_kernel' --import-source no \
        --section InstructionStats --section SourceCounters --section WarpStateStats -f -o $d/ssd \
        $M bench --no-torch --device cuda:${2:-0} --config configs/composite.toml --depths 4 --replicas 36 \
        --sweep-depth 4 --precisions f32 --steps 2 --warmup 1 --out $d/bench >$d/ncu.log 2>&1
    $ncu -i $d/ssd.ncu-rep --page details >$d/details.txt 2>>$d/ncu.log
    $ncu -i $d/ssd.ncu-rep --page source --print-source sass --csv >$d/sass.csv 2>>$d/ncu.log
    rm -f $d/ssd.ncu-rep
    xz -f -T4 $d/details.txt $d/sass.csv
    ;;
norm-tiling-check) norm_tiling_check "${2:-0}" ;;
projconv-tiling-check) projconv_tiling_check "${2:-0}" ;;
projconv-rounds-check) projconv_rounds_check "${2:-0}" ;;
kernel-tests) kernel_tests "${2:-0}" ;;
matmul-kernel-check) matmul_kernel_check "${2:-0}" ;;
fused-check | conv-check | split-check | norm-check | rms-check | embed-check | keep-check | adam-check) switch_check $1 "${2:-0}" ;;
convssd-check | ce-check | projconv-check | projgrads-check | scores-check | dt-check | guard-check | rows-check | sums-check | lastpos-check) # the fused conv + SSD (the same bits as the conv and SSD kernels in
    # turn; off by default), the fused cross-entropy (other bits than burn's log_softmax; on
    # by default since session 19), the fused xBC product + conv (on by default where its
    # tensor-core form runs since session 23) and, after its tensor-core backward, the
    # product's gradients from one tensor-core kernel (other bits; off by default, session
    # 24), the SSD forward keeping S for the backward (the same bits; session 25) and dt's
    # row, bias and softplus in one kernel pair (other bits; session 26) and the guard's step
    # in one kernel and in_proj's row blocks as views (the same bits; session 27), the
    # kernels' per-group partials summed by this project's kernel (the same bits; session 28),
    # the last Mamba2 block after its SSD at the last position alone (other bits; session 29),
    # each off and on: the sweep sizes and 5 epochs of
    # fig3 cells (switch_check), then interleaved R = 1 runs, where each changes the launches of
    # the host's step
    switch_check $1 "${2:-0}"
    v=$(switch_var $1)
    r1_runs "${2:-0}" runs/$1/r1 "env $v=0 $M" "env $v=1 $M" ;;
views-check | linear-check) # the row views (session 27) and the fused linear map (session
    # 28, other bits: f32 products) apply at R = 1 only: the A/B's bench (R >= 9 there runs as
    # before) and 5 epochs of three fig3 cells, each a run of one replica, each way; then
    # interleaved R = 1 runs
    AB_SWEEP="configs/fig3.toml --only model.depth=2 --only init.gamma=0.9 --max-replicas 1" switch_check $1 "${2:-0}"
    v=$(switch_var $1)
    r1_runs "${2:-0}" runs/$1/r1 "env $v=0 $M" "env $v=1 $M" ;;
ssd-units-check) ssd_units_check "${2:-0}" ;;
gradb-check) gradb_check "${2:-0}" ;;
r1-ab) r1_ab "${2:-0}" ;;
gradb-ab) gradb_ab "${2:-0}" ;;
base-check) base_check "${2:-0}" ;;
host-check) host_check "${2:-0}" ;;
host-profile) host_profile "${2:-0}" ;;
f32-check) # TF32 (burn's matmul) against f32 (MSYM_F32_MATMUL): the bench and 5 epochs of fig3 cells
    ab_check "${2:-0}" runs/f32-check tf32 "env MSYM_F32_MATMUL=0 $M" f32 "env MSYM_F32_MATMUL=1 $M" ;;
unpack) # here, after a call: its `pack` (0-runs.tgz.part*, the metrics without checkpoints)
    # and its NAME-resume.tar.* (the unfinished runs whole, with checkpoints) joined into
    # carry/NAME, which the next call carries and stages.
    # With RESULTS (a results folder of the repository, e.g. results/fig3): the call's state
    # then replaces RESULTS' runs/, cells/, phase.csv and sweep.json (its README, device.log
    # and compare outputs stay), and no carry/NAME is left: the working tree travels to the
    # next call with one copy of the checkpoints, not two (64 MiB in all), and that call
    # stages it with `scripts/prepare-device.sh --no-build RESULTS NAME` first.
    d=${2:?DIR} n=${3:?NAME} into=${4:-}
    [ -z "$into" ] || [ -d "$into" ] || { echo "unpack: $into is not a folder" >&2; exit 2; }
    [ -n "$into" ] || [ ! -e carry/$n ] || { echo "carry/$n exists; move it away first" >&2; exit 2; }
    tmp=$(mktemp -d)
    cat "$d"/0-runs.tgz.part* | tar xzf - -C $tmp runs/$n || { rm -rf $tmp; echo "$d: no runs/$n in its 0-runs.tgz" >&2; exit 2; }
    if ls "$d"/$n-resume.tar.* >/dev/null 2>&1; then
        cat "$d"/$n-resume.tar.* | tar xf - -C $tmp || { rm -rf $tmp; echo "$d: $n-resume.tar.* do not join" >&2; exit 2; }
    fi
    if [ -n "$into" ]; then
        [ -d $tmp/runs/$n/runs ] || { rm -rf $tmp; echo "$d: runs/$n holds no runs/" >&2; exit 2; }
        rm -rf "$into/runs" "$into/cells" "$into/phase.csv" "$into/sweep.json"
        for f in runs cells phase.csv sweep.json; do
            [ ! -e $tmp/runs/$n/$f ] || mv $tmp/runs/$n/$f "$into/$f"
        done
        rm -rf $tmp
        # A finished run's checkpoint.json (its loop state, every metric row again: about
        # 600 KB a run of 9 replicas) resumes nothing without its tensors, which `pack`
        # leaves out; the working tree travels with every call (64 MiB in all), and fig3's
        # 12 such files were 7 MB of it (2026-11-27).
        for r in "$into"/runs/*/; do
            [ -e "$r/checkpoint.safetensors" ] && continue
            finished_run "$r" && rm -f "$r/checkpoint.json"
        done
        echo "$into: $(du -sh "$into" | cut -f1), unfinished runs with checkpoints:" \
            $(cd "$into" && ls runs/*/*.safetensors 2>/dev/null | cut -d/ -f2 | sort -u)
        exit 0
    fi
    mkdir -p carry && mv $tmp/runs/$n carry/$n && rm -rf $tmp
    echo "carry/$n: $(du -sh carry/$n | cut -f1), unfinished runs with checkpoints:" \
        $(cd carry/$n && ls runs/*/*.safetensors 2>/dev/null | cut -d/ -f2 | sort -u)
    ;;
box) # One device call that depends on no other: a warm machine goes back after 30 s idle,
    # and twice in the eighth session the reply to one call took longer than that, so the
    # next call found a fresh machine and two fig3 runs (epochs 85 and 150) were lost. Every
    # call therefore stages what it carries, trains until S seconds after its start (T0), and
    # packs the logs and the unfinished runs' checkpoints itself; the next call carries them
    # back (carry/NAME), on whatever machine it gets.
    # `--side G JOB...` after the jobs: a second queue on GPU G beside the first (the speed
    # jobs on a spare GPU), under the same deadline, which `pack` waits for. Started by box
    # itself, after this script has unpacked the binary: a side job started in the
    # background beside `box` ran before the binary was there (2026-11-27: "/tmp/bin/msym:
    # Permission denied", the bench-full table lost).
    t0=${T0:-$(date +%s)} s=${2:?S} g=${3:?GPU}
    shift 3
    main=() side=()
    while [ $# -gt 0 ] && [ "$1" != --side ]; do main+=("$1"); shift; done
    [ $# -eq 0 ] || { side=("${@:2}"); [ ${#side[@]} -ge 2 ] || { echo "box: --side needs a GPU and a job" >&2; exit 2; }; }
    # every job's command line before anything runs: a bad job is refused now, not when
    # its queue reaches it
    refuse_bad() { # GPU JOB[@L]...
        local g=$1 jd
        shift
        for jd; do job_at $g $jd 1 >/dev/null || { echo "box: job $jd refused; nothing ran" >&2; exit 2; }; done
    }
    refuse_bad $g "${main[@]}"
    [ ${#side[@]} -eq 0 ] || refuse_bad "${side[@]}"
    bash "$self" stage
    # A figure job whose runs/X this machine lacks trains X from nothing. Where the
    # repository's results/X holds committed runs that is a mistake (2026-11-27: the reply to
    # call A came late, call B found a fresh machine and, carrying nothing, trained three fig3
    # groups again from epoch 0 for its whole 555 s): refuse at once, before any training.
    # FRESH=1 trains from nothing anyway.
    if [ "${FRESH:-0}" != 1 ]; then
        refused=0
        for j in "${main[@]}" "${side[@]:1}"; do
            x=$(unstaged "$j") || continue
            echo "box: job $j would train runs/$x from nothing: this machine has no runs/$x (a fresh one?) and nothing staged it, while results/$x holds committed runs; carry the last call's state (device-batch.sh unpack DIR $x, then carry [\"carry\"]) or stage the committed one (scripts/prepare-device.sh --no-build results/$x $x), or set FRESH=1" >&2
            refused=1
        done
        [ $refused = 0 ] || exit 2
    fi
    pid=""
    if [ ${#side[@]} -gt 0 ]; then
        bash "$self" queue $((t0 + s)) "${side[@]}" >>runs/logs/side.log 2>&1 </dev/null &
        pid=$!
    fi
    bash "$self" queue $((t0 + s)) $g "${main[@]}"
    while [ -n "$pid" ] && kill -0 $pid 2>/dev/null && [ $(date +%s) -lt $((t0 + s)) ]; do sleep 5; done
    bash "$self" pack
    ;;
measure) measure ;;
cmd) full_command "${2:?JOB}" "${3:-10}" "${4:-}" ;;
start)
    t=$2
    shift 2
    # Where `measure` found that processes do not overlap on the GPU, the jobs run one
    # after another in one background shell instead.
    chain=""
    for jd in "$@"; do
        j=${jd%%@*}
        d=""
        [ "$j" != "$jd" ] && d=${jd#*@}
        cmd=$(full_command $j $t "$d") || exit 2
        echo "$(date -u +%FT%TZ) $cmd" | tee -a runs/logs/$j.log
        if grep -q "processes serialize" runs/concurrency/result.txt 2>/dev/null; then
            chain="$chain $cmd >>runs/logs/$j.log 2>&1;"
        else
            eval "setsid nohup $cmd >>runs/logs/$j.log 2>&1 < /dev/null &"
        fi
    done
    [ -n "$chain" ] && setsid nohup bash -c "$chain" >/dev/null 2>&1 </dev/null &
    ;;
queue)
    end=$2 g=$3
    shift 3
    for jd in "$@"; do # JOB@L runs JOB on GPUs L instead of GPU
        j=${jd%%@*}
        left=$((end - $(date +%s)))
        [ $left -gt ${MIN_JOB_S:-60} ] || break # a job needs at least a minute
        t=$(awk -v s=$left 'BEGIN { printf "%.2f", s / 60 }')
        cmd=$(job_at $g $jd $t) || exit 2
        echo "$(date -u +%FT%TZ) $cmd" | tee -a runs/logs/$j.log
        # The sweeps stop before the deadline on their own (--time-limit); the checks and
        # benches do not, and one that ran past it kept box from packing until the call's
        # limit killed everything (2026-11-27: autotune-check, a whole call's output lost).
        # timeout kills the job's process group a little after the deadline.
        rc=0
        timeout -k 5 $((left + ${KILL_GRACE_S:-10})) bash -c "$cmd" >>runs/logs/$j.log 2>&1 </dev/null || rc=$?
        [ $rc != 124 ] || echo "$(date -u +%FT%TZ) queue: $j stopped at the call's deadline; its output so far is in this log" |
            tee -a runs/logs/$j.log
    done
    ;;
wait)
    end=$((${T0:-$(date +%s)} + $2))
    # a queue between two of its jobs has no msym process for a moment: count queues too
    while [ $(date +%s) -lt $end ] && { pgrep -x msym || pgrep -f "device-batch.sh queue"; } >/dev/null; do
        sleep 10
    done
    pgrep -a msym | cut -c1-160
    ;;
pack)
    nvidia-smi --query-gpu=name,utilization.gpu,memory.used --format=csv,noheader 2>/dev/null
    for l in runs/logs/*.log; do echo "== $l"; tail -n 4 $l; done
    for d in runs/*/; do # what each sweep has left, for planning the next call
        [ -d "$d/runs" ] && [ -x $M ] && $M progress "$d" 2>/dev/null | tail -n 1 | sed "s|^|$d |"
    done
    ex=(--exclude='*.safetensors')
    [ "${2:-}" = full ] && ex=()
    # "0-": a call returns 8 files, taken in name order, so the logs come before any
    # checkpoint parts of `resume` in the same $OUT (2026-11-26: they did not)
    tar czf - "${ex[@]}" runs | split -b 12m - $OUT/0-runs.tgz.part
    # The unfinished runs' checkpoints too, where all of them fit in what the call has left
    # (8 files, 60 MB): a last call that packed only the logs lost a fig3 row's 72 epochs of
    # checkpoints when the machine went back (2026-11-26, session 7).
    files=$((8 - $(ls $OUT | wc -l))) bytes=$((60000000 - $(du -cb $OUT/* | tail -n 1 | cut -f1)))
    need_f=0 need_b=0 names=()
    for d in runs/*/; do
        n=$(basename $d) u=($(unfinished_runs $n))
        [ ${#u[@]} -gt 0 ] || continue
        b=$(du -cb "${u[@]}" | tail -n 1 | cut -f1)
        names+=($n) need_b=$((need_b + b)) need_f=$((need_f + b / (${PART_MB:-15} * 1048576) + 1))
    done
    if [ "${2:-}" = full ]; then
        : # the checkpoints are in the tar already
    elif [ ${#names[@]} -gt 0 ] && [ $need_f -le $files ] && [ $need_b -le $bytes ]; then
        for n in "${names[@]}"; do resume_parts $n 0 $files; done
    elif [ ${#names[@]} -gt 0 ]; then
        echo "unfinished runs in ${names[*]}: $need_b bytes in $need_f parts, more than this call has left; bring them with \`resume NAME\`"
    fi
    ls -la $OUT
    ;;
resume) # here too: the unfinished runs of runs/NAME, whole folders with their checkpoints,
    # as one tar cut into parts of PART_MB (15) MB: NAME-resume.tar.aa, .ab, ..; only parts
    # FIRST.. (0-based, default 0), at most 4 a call (64 MB come back). The tar is the same
    # bytes in every call (sorted, fixed times and owners), so a second call with FIRST = 4
    # brings the rest. Join them with `cat NAME-resume.tar.* | tar xf -`.
    resume_parts "${2:?NAME}" "${3:-0}" 4
    ls -la $OUT
    ;;
*) sed -n 2,17p "$0"; exit 2 ;;
esac
