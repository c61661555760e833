#!/usr/bin/env python3
"""Kernel time of the last training step in an ncu CSV, by kernel name.

ncu (`--csv --metrics gpu__time_duration.sum`) over `msym bench` lists every kernel of the
process; the last training step is found as the period of the kernel names at the end (the
smallest p with the last p names equal to the p before them: the last two timed steps launch
the same kernels), so no marker is needed in the binary.

Usage: scripts/ncu_summary.py NCU.csv[.xz] [TOP]
       scripts/ncu_summary.py NCU.csv[.xz] --sequence
Prints the step's kernel count and time, then the TOP (default 25) kernel names by time;
with --sequence, every kernel of the step in launch order with its time and grid, which is
how a kernel is tied to the op that launched it (the names do not say: the ops' order in
the model's forward, then the backward in reverse, does; e.g. the two 1.2-1.4 ms copies of
each layer's forward in results/bench/paths-h200-2026-11-27).
Checked on the committed profiles (results/bench/NOTES.md): ncu-h200-7d29825-d2-r1-r36.csv.xz
gives 1166 kernels, 297.3 ms (NOTES: 1166 kernels, 297 ms at R = 36), and
ncu-h200-2b84a37-d2-r1-r36.csv.xz 1214 kernels, 99.9 ms (NOTES: "297 -> 100 ms per step").
Periods shorter than 50 kernels are not taken: the tail of one step (say, two identical
layers' updates) may repeat itself. Kernels after the last step (the bench's matmul probe,
since session 14) are skipped: the step is the last block that repeats the one before it.
"""
import collections
import csv
import lzma
import sys


def rows(path):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt") as f:
        lines = [line for line in f if line.startswith('"')]
    return [r for r in csv.DictReader(lines) if r["Metric Name"] == "gpu__time_duration.sum"]


def period(names, shortest=50, longest=20000, trailing=500):
    """(p, s): the smallest p (at least `shortest`) such that the p names before the last s
    repeat the p before them, for the smallest s up to `trailing`. s > 0 where the bench
    launches kernels after its timed steps (the matmul probe since session 14)."""
    for s in range(0, min(trailing, len(names)) + 1):
        end = len(names) - s
        for p in range(shortest, min(longest, end // 2) + 1):
            if names[end - 1] == names[end - 1 - p] and names[end - p:end] == names[end - 2 * p:end - p]:
                return p, s
    return None


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "--sequence" else 25
    rs = rows(path)
    names = [r["Kernel Name"] for r in rs]
    found = period(names)
    if found is None:
        sys.exit(f"{path}: the last kernels do not repeat; is it a run of at least two steps?")
    p, s = found
    step = rs[len(rs) - s - p:len(rs) - s]
    ns = [float(r["Metric Value"].replace(",", "")) for r in step]
    print(f"{path}: last step {p} kernels, {sum(ns) / 1e6:.1f} ms of kernel time")
    if len(sys.argv) > 2 and sys.argv[2] == "--sequence":
        for i, (r, v) in enumerate(zip(step, ns)):
            k = r["Kernel Name"].split("<")[0][:60]
            print(f"{i:4d} {v / 1e3:9.1f} us  {k}  grid {r['Grid Size']} block {r['Block Size']}")
        return
    t, n = collections.Counter(), collections.Counter()
    for r, v in zip(step, ns):
        k = r["Kernel Name"].split("<")[0][:70]
        t[k] += v / 1e6
        n[k] += 1
    for k, v in t.most_common(top):
        print(f"{v:8.2f} ms {n[k]:5d}x  {k}")


if __name__ == "__main__":
    main()
