#!/usr/bin/env python3
"""The README's MAE table: mean |ours - paper| per depth and gamma range, from the comparer's
compare.csv (final epoch) and compare-value-max/compare.csv (each seed's best epoch); with
--composite, the README's table of composite cells (paper / ours (seeds' std)) at depths 3-7.

    python3 results/fig3/mae_table.py [--composite]   # from the repository root
"""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def rows(path):
    return [r for r in csv.DictReader(open(path)) if r["figure"] == "fig3"]


def mae(rs):
    if not rs:
        return None
    by = {m: [abs(float(r["diff"])) for r in rs if r["metric"] == m] for m in ("composite", "symmetric")}
    every = by["composite"] + by["symmetric"]
    mean = lambda v: sum(v) / len(v)
    return "%.3f (%.3f / %.3f)" % (mean(every), mean(by["composite"]), mean(by["symmetric"]))


final, best = rows(os.path.join(HERE, "compare.csv")), rows(os.path.join(HERE, "compare-value-max/compare.csv"))
if sys.argv[1:] == ["--composite"]:
    cell = {(r["depth"], float(r["gamma"])): r for r in final if r["metric"] == "composite"}
    depths = ["3", "4", "5", "6", "7"]
    print("| gamma | " + " | ".join("depth " + d for d in depths) + " |")
    print("|---" * (len(depths) + 1) + "|")
    for g in (0.2, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5, 2.0):
        show = lambda r: "%.2f / %.2f (%.2f)" % (float(r["paper"]), float(r["ours_mean"]), float(r["ours_std"])) if r else ""
        print("| %.1f | " % g + " | ".join(show(cell.get((d, g))) for d in depths) + " |")
    sys.exit(0)
print("| row | cells | final epoch: MAE (composite / symmetric) | each seed's best epoch |")
print("|---|---|---|---|")
for depth in sorted({r["depth"] for r in final}, key=int):
    for name, keep in (("gamma 0.1-0.9", lambda g: g < 1.0), ("gamma 1.0-2.0", lambda g: g >= 1.0)):
        pick = lambda rs: [r for r in rs if r["depth"] == depth and keep(float(r["gamma"]))]
        f = pick(final)
        if not f:
            continue
        state = "final" if all(r["final"] == "true" for r in f) else "not all final"
        print("| depth %s, %s | %d %s | %s | %s |" % (depth, name, len(f) // 2 * 3, state, mae(f), mae(pick(best))))
print("| all %d values | | %s | %s |" % (len(final), mae(final), mae(best)))
