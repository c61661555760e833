#!/usr/bin/env python3
"""The table of README.md from the committed metrics: `python3 results/fig4-torch-order/tabulate.py`
(from the repository root). The fig4 cell's seed 1 three times: msym (results/fig4-seeds/run,
replica 0), PyTorch on msym's own batch order (results/fig4-torch-order/run) and PyTorch on its
own shuffle (results/fig4-torch/seed-1). All three start from the same weights and data. For
each epoch scored by all three: the training loss and the pair-43 scores, and each PyTorch
run's relative loss difference from msym."""
import csv

SIDES = {
    "msym": ("results/fig4-seeds/run/metrics.csv", "0"),
    "torch, msym order": ("results/fig4-torch-order/run/metrics.csv", "0"),
    "torch, own shuffle": ("results/fig4-torch/seed-1/metrics.csv", "0"),
}
COLS = ("train_loss", "composite_test", "symmetric_test", "seen_test")


def read(path, replica):
    """epoch -> the row's COLS as floats (train_loss nan at epoch 0)"""
    return {int(r["epoch"]): [float(r[c]) for c in COLS]
            for r in csv.DictReader(open(path)) if r["replica"] == replica}


data = {k: read(*v) for k, v in SIDES.items()}
epochs = sorted(set.intersection(*(set(d) for d in data.values())) - {0})
print("epoch | " + " | ".join(f"{k}: loss / composite / symmetric / seen" for k in SIDES)
      + " | rel. loss diff from msym: msym order / own shuffle")
for e in epochs:
    cells = [" / ".join(f"{v:.9g}" if i == 0 else f"{v:.4f}" for i, v in enumerate(d[e])) for d in data.values()]
    m = data["msym"][e][0]
    rel = [f"{abs(data[k][e][0] - m) / m:.1e}" for k in list(SIDES)[1:]]
    print(f"{e} | " + " | ".join(cells) + " | " + " / ".join(rel))
