"""Per-cell accuracies of the stopped fig3 depth-2 runs at their last evaluation, and the
max over epochs, next to the paper's depth-2 row: writes snapshot.csv, prints a markdown
table; then the row's mean absolute errors scored on pair 43's test group and on its train
group, and the gamma-1.0 cells' composite accuracy next to results/supp's standard variant
(the same cell config) at the epochs both evaluated. Run from this folder: python3 snapshot.py"""
import csv, glob, json, tomllib
from collections import defaultdict

ref = tomllib.load(open("../../references/paper_results.toml", "rb"))["fig3_mamba_phase"]
row = ref["depth"].index(2)
cells = defaultdict(list)  # gamma -> [(seed, last, composite, symmetric, seen, max composite, max symmetric)]
for f in sorted(glob.glob("runs/*/metrics.csv")):
    rows = list(csv.DictReader(open(f)))
    last = max(int(r["epoch"]) for r in rows)
    for rep in sorted({r["replica"] for r in rows}):
        mine = [r for r in rows if r["replica"] == rep]
        end = [r for r in mine if int(r["epoch"]) == last][0]
        cells[float(end["gamma"])].append((
            int(end["seed"]), last, float(end["composite_test"]), float(end["symmetric_test"]),
            float(end["seen_test"]), max(float(r["composite_test"]) for r in mine),
            max(float(r["symmetric_test"]) for r in mine)))
out = csv.writer(open("snapshot.csv", "w", newline=""))
out.writerow(["gamma", "seed", "epoch", "composite", "symmetric", "seen_test", "composite_max", "symmetric_max"])
print("| gamma | paper composite / symmetric | ours at epoch 144: composite / symmetric (mean of 3) | per seed composite | composite, max over epochs (mean) |")
print("|---|---|---|---|---|")
for g in sorted(cells):
    v = sorted(cells[g])
    for s in v:
        out.writerow([g, *s[:2], *(f"{x:.4f}" for x in s[2:])])
    m = lambda k: sum(s[k] for s in v) / len(v)
    i = ref["gamma"].index(g)
    print(f"| {g} | {ref['composite'][row][i]:.2f} / {ref['symmetric'][row][i]:.2f} | {m(2):.2f} / {m(3):.2f} | "
          + " ".join(f"{s[2]:.2f}" for s in v) + f" | {m(5):.2f} |")

last = {}  # (gamma, seed) -> metrics row at the last evaluation
runs = {}  # (gamma, seed) -> {epoch: composite_test}
for f in sorted(glob.glob("runs/*/metrics.csv")):
    rows = list(csv.DictReader(open(f)))
    end = max(int(r["epoch"]) for r in rows)
    for r in rows:
        key = (float(r["gamma"]), int(r["seed"]))
        runs.setdefault(key, {})[int(r["epoch"])] = r["composite_test"]
        if int(r["epoch"]) == end:
            last[key] = r
for group in ["test", "train"]:
    err = {"composite": 0.0, "symmetric": 0.0}
    for i, g in enumerate(ref["gamma"]):
        for m in err:
            ours = sum(float(last[(g, s)][f"{m}_{group}"]) for s in (1, 2, 3)) / 3
            err[m] += abs(ours - ref[m][row][i]) / len(ref["gamma"])
    print(f"pair 43 {group} group: mean absolute error composite {err['composite']:.3f}, symmetric {err['symmetric']:.3f}")
supp = {}
for f in glob.glob("../supp/runs/*/metrics.csv"):
    cells = json.load(open(f.replace("metrics.csv", "cells.json")))
    for r in csv.DictReader(open(f)):
        if not cells[int(r["replica"])]["model"]["gated_residual"]:
            supp.setdefault(int(r["seed"]), {})[int(r["epoch"])] = r["composite_test"]
for s in (1, 2, 3):
    shared = sorted(set(runs[(1.0, s)]) & set(supp[s]))
    same = all(runs[(1.0, s)][e] == supp[s][e] for e in shared)
    print(f"gamma 1.0 seed {s}: composite equal to results/supp's at all {len(shared)} shared epochs: {same}; supp at 210: {supp[s][210]}")
