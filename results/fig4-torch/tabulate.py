#!/usr/bin/env python3
"""The tables of README.md from the committed metrics: `python3 results/fig4-torch/tabulate.py`
(from the repository root). msym: results/fig4-seeds/run (replica i = seed i + 1); PyTorch:
results/fig4-torch/seed-S. Prints each seed's composite peak and final value, the training
loss at chosen epochs, and the sum of the learning rates over SPEC 3's schedule (how much
AdamW's decoupled weight decay of 0.01 can shrink a weight in the whole run)."""
import csv
import math

MSYM = "results/fig4-seeds/run/metrics.csv"
TORCH = "results/fig4-torch/seed-{}/metrics.csv"


def rows(path, seed=None):
    """(seed, epoch) -> (train_loss, composite_test, lr)"""
    out = {}
    for r in csv.DictReader(open(path)):
        s = seed if seed is not None else int(r["replica"]) + 1
        out[(s, int(r["epoch"]))] = (float(r["train_loss"]), float(r["composite_test"]), float(r["lr"]))
    return out


msym = rows(MSYM)
torch = {k: v for s in (1, 2, 3) for k, v in rows(TORCH.format(s), s).items()}

print("seed | msym peak (epoch) / final | PyTorch peak (epoch) / final (epoch)")
for s in (1, 2, 3):
    cells = []
    for side in (msym, torch):
        mine = sorted((e, v[1]) for (t, e), v in side.items() if t == s)
        peak = max(mine, key=lambda x: x[1])  # the first epoch of the highest value
        cells.append(f"{peak[1]:.3f} ({peak[0]}) / {mine[-1][1]:.3f} ({mine[-1][0]})")
    print(f"{s} | " + " | ".join(cells))

print("\nepoch | lr | msym train_loss seeds 1 / 2 / 3 | PyTorch seeds 1 / 2 / 3")
for e in (10, 30, 50, 60, 70, 80, 100, 150, 210):
    side = lambda d: " / ".join(f"{d[(s, e)][0]:.2g}" if (s, e) in d else "-" for s in (1, 2, 3))  # noqa: E731
    print(f"{e} | {msym[(1, e)][2]:.2e} | {side(msym)} | {side(torch)}")

# SPEC 3: 123 steps an epoch, 10 epochs linear 1e-5 -> 2.5e-4, 200 epochs cosine back to 1e-5.
spe, warm, cos = 123, 10 * 123, 200 * 123
total = sum(1e-5 + (2.5e-4 - 1e-5) * i / warm for i in range(warm)) + sum(
    1e-5 + (2.5e-4 - 1e-5) * 0.5 * (1 + math.cos(math.pi * i / cos)) for i in range(cos))
print(f"\nsum of the learning rates over the run: {total:.2f}; weight decay 0.01 shrinks a weight by "
      f"{100 * (1 - math.exp(-0.01 * total)):.1f}% in all")
