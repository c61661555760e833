#!/usr/bin/env python3
"""fig4 analyses over training: per snapshot epoch and replica (seed), the model's pair-43
accuracy and the comparer's two numbers (lowest pair and pooled share) of blocking and
substitution, plus the share of pair-43 answers that follow the composite rule (label).
Reads: ROOT/epoch-NNN/replica-K/{block,substitute,answers}.csv and
METRICS (the run's metrics.csv). Writes fig4_over_training.csv to stdout."""
import csv, sys, pathlib

root, metrics = pathlib.Path(sys.argv[1]), sys.argv[2]
acc = {}
for row in csv.DictReader(open(metrics)):
    acc[(int(row["epoch"]), int(row["replica"]))] = (float(row["composite_test"]), float(row["symmetric_test"]), row["seed"], row["gamma"], row["lr_peak"])

def read(p):
    return list(csv.DictReader(open(p)))

w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["epoch", "replica", "seed", "gamma", "lr_peak", "composite_43", "symmetric_43",
            "block_min", "block_min_pair", "block_pooled",
            "subst_min", "subst_min_pair", "subst_pooled", "answers_43_label_share"])
for ed in sorted(root.glob("epoch-*")):
    e = int(ed.name.split("-")[1])
    for rd in sorted(ed.glob("replica-*")):
        r = int(rd.name.split("-")[1])
        b = [x for x in read(rd / "block.csv") if int(x["n"]) > 0]
        s = [x for x in read(rd / "substitute.csv") if int(x["n"]) > 0]
        bmin = min(b, key=lambda x: float(x["share_unchanged"]))
        smin = min(s, key=lambda x: float(x["share_collapsed"]))
        bpool = sum(int(x["unchanged"]) for x in b) / sum(int(x["n"]) for x in b)
        spool = sum(int(x["collapsed"]) for x in s) / sum(int(x["n"]) for x in s)
        lab = sum(float(x["share"]) for x in read(rd / "answers.csv")
                  if x["pair"] == "43" and "label" in x["rules"].split("; "))
        c, sy, seed, gamma, lr = acc[(e, r)]
        w.writerow([e, r, seed, gamma, lr, f"{c:.3f}", f"{sy:.3f}",
                    bmin["share_unchanged"], bmin["pair"], f"{bpool:.3f}",
                    smin["share_collapsed"], smin["pair"], f"{spool:.3f}", f"{lab:.3f}"])
