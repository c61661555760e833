# fig3's 216 cells by their final training loss: python3 results/fig3/loss_vs_composite.py
# For each decade of the last evaluated epoch's train_loss (cells/<id>/metrics.csv, the
# cell's own replica), how many cells, their composite and seen-pairs accuracies on the test
# groups, and which gammas they come from. A diagnostic of where the composite answer
# survives, not a claim of cause.
import collections, csv, glob, json, math, os

here = os.path.dirname(os.path.abspath(__file__))
decades = collections.defaultdict(list)
for cell in glob.glob(os.path.join(here, "cells", "*")):
    summary = json.load(open(os.path.join(cell, "summary.json")))
    last = list(csv.DictReader(open(os.path.join(cell, "metrics.csv"))))[-1]
    loss = float(last["train_loss"])
    decade = math.floor(math.log10(loss)) if loss > 0 else -99
    decades[decade].append(
        (float(last["composite_test"]), float(last["seen_test"]), summary["gamma"], summary["depth"])
    )
print("| final train loss | cells | composite, mean | composite > 0.5 | seen pairs, mean | gammas (cells) |")
print("|---|---|---|---|---|---|")
for d in sorted(decades):
    cells = decades[d]
    n = len(cells)
    comp = sum(c[0] for c in cells) / n
    above = sum(c[0] > 0.5 for c in cells)
    seen = sum(c[1] for c in cells) / n
    gammas = ", ".join(f"{g:g} ({k})" for g, k in sorted(collections.Counter(c[2] for c in cells).items()))
    print(f"| 1e{d} to 1e{d + 1} | {n} | {comp:.2f} | {above} | {seen:.2f} | {gammas} |")
