#!/usr/bin/env bash
# Here, before a session's first device call. Nothing outside the repository survives from one
# session to the next (2026-11-26: session 7's resume state and binary were gone in session 8),
# so this makes, from the repository alone, what the calls carry:
#   bin-xz/msym.xz   the CUDA release build of HEAD, xz-compressed (about 6 minutes on 2 cores
#                    with a cold target; refused on a tree with uncommitted changes, so the
#                    binary names its commit truthfully)
#   carry/NAME       the committed results folder SRC as resume state: every finished run, and
#                    the unfinished runs that have a committed checkpoint; an unfinished run
#                    without one is left out (the job trains it again from scratch), as are
#                    README.md and the compare outputs, which the job writes anew
#   bin-xz/kernel-tests/NAME.xz  the kernels' GPU-only tests (crates/kernels/tests/*_cuda.rs),
#                    release builds with the `cuda` feature, for device-batch's kernel-tests job
#   bin-xz/msym-autotune.xz  with --autotune, also the build with burn's autotune (msym's
#                    `autotune` feature), for device-batch's autotune-check (a few more minutes)
# Usage: scripts/prepare-device.sh [--no-build | --autotune] [SRC NAME]...
#   e.g. scripts/prepare-device.sh results/fig3 fig3
set -euo pipefail
cd "$(dirname "$0")/.."
build=1 autotune=0
if [ "${1:-}" = --no-build ]; then
    build=0
    shift
elif [ "${1:-}" = --autotune ]; then
    autotune=1
    shift
fi
while [ $# -ge 2 ]; do
    src=${1%/} name=$2
    shift 2
    [ -d "$src" ] || { echo "prepare-device: $src is not a folder" >&2; exit 2; }
    [ ! -e carry/$name ] || { echo "prepare-device: carry/$name exists; move it away first" >&2; exit 2; }
    tmp=$(mktemp -d)
    cp -r "$src" $tmp/$name
    rm -rf $tmp/$name/README.md $tmp/$name/compare.csv $tmp/$name/report.md $tmp/$name/compare-figures
    for r in $tmp/$name/runs/*/; do
        [ -d "$r" ] || continue
        if ! python3 -c "import json,sys; sys.exit(0 if json.load(open('$r/summary.json')).get('finished') else 1)" 2>/dev/null &&
            ! ls "$r"/*.safetensors >/dev/null 2>&1; then
            echo "carry/$name: runs/$(basename $r) is unfinished and has no checkpoint: it trains again from scratch"
            rm -rf "$r"
        fi
    done
    mkdir -p carry && mv $tmp/$name carry/$name && rmdir $tmp
    echo "carry/$name: $(du -sh carry/$name | cut -f1)"
done
[ $# -eq 0 ] || { echo "prepare-device: SRC without NAME: $1" >&2; exit 2; }
if [ $build = 1 ]; then
    [ -z "$(git status --porcelain --untracked-files=no)" ] || {
        echo "prepare-device: the tree has uncommitted changes; commit them first" >&2
        exit 2
    }
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/msym-target}
    # host-profile: MSYM_HOST_PROFILE's sampling profiler (idle unless the variable is set);
    # the symbols kept (strip only the debug info) so that its stacks have names (with the
    # workspace's strip = true every frame read "__libc_start_main", session 17)
    CARGO_PROFILE_RELEASE_STRIP=debuginfo cargo build --release -p msym --features cuda,host-profile
    mkdir -p bin-xz
    xz -T2 -3 -c "$CARGO_TARGET_DIR/release/msym" >bin-xz/msym.xz.tmp && mv bin-xz/msym.xz.tmp bin-xz/msym.xz
    echo "bin-xz/msym.xz: $(du -h bin-xz/msym.xz | cut -f1), $("$CARGO_TARGET_DIR/release/msym" info 2>&1 | head -n 1)"
    rm -rf bin-xz/kernel-tests && mkdir -p bin-xz/kernel-tests
    for t in crates/kernels/tests/*_cuda.rs; do
        [ -e "$t" ] || continue
        n=$(basename $t .rs)
        exe=$(CARGO_PROFILE_RELEASE_STRIP=debuginfo cargo test --release -p kernels --features cuda --no-run \
            --test $n --message-format=json | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])')
        xz -T2 -3 -c "$exe" >bin-xz/kernel-tests/$n.xz
        echo "bin-xz/kernel-tests/$n.xz: $(du -h bin-xz/kernel-tests/$n.xz | cut -f1)"
    done
    if [ $autotune = 1 ]; then
        cargo build --release -p msym --features autotune
        xz -T2 -3 -c "$CARGO_TARGET_DIR/release/msym" >bin-xz/msym-autotune.xz.tmp && mv bin-xz/msym-autotune.xz.tmp bin-xz/msym-autotune.xz
        echo "bin-xz/msym-autotune.xz: $(du -h bin-xz/msym-autotune.xz | cut -f1)"
    else
        rm -f bin-xz/msym-autotune.xz # a stale one would be another commit's build
    fi
fi
