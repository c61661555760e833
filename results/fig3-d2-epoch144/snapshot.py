"""Per-cell accuracies of the stopped fig3 depth-2 runs at their last evaluation, and the
max over epochs, next to the paper's depth-2 row: writes snapshot.csv, prints a markdown
table. Run from this folder: python3 snapshot.py"""
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
