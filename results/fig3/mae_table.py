#!/usr/bin/env python3
"""The README's MAE table: mean |ours - paper| per depth and gamma range, from the comparer's
compare.csv (final epoch) and compare-value-max/compare.csv (each seed's best epoch).

    python3 results/fig3/mae_table.py          # from the repository root
"""
import csv
import os

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
