#!/usr/bin/env bash
# Times CI the way it runs for a submission: a fresh clone of the committed main, then
# `bash .ci/run`. With --cold it uses an empty cargo target directory (what a new machine
# pays); without, the shared one under $HOME (what every later run pays).
# Usage: scripts/measure-ci.sh [--cold]
set -euo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
commit=$(git -C "$work/clone" rev-parse --short HEAD)
if [ "${1:-}" = "--cold" ]; then
  export MSYM_CI_TARGET_DIR="$work/target"
fi
start=$(date +%s)
(cd "$work/clone" && CI=true bash .ci/run </dev/null)
echo "CI ${1:---warm} on commit $commit: $(( $(date +%s) - start )) s"
