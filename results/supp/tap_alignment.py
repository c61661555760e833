"""The tap-alignment table of this folder's README, from analysis/conv_similarity.csv:
per variant and layer, the mean off-diagonal cosine between the conv kernel's 4 taps at
epoch 0 (mean of the seeds) and at epoch 210 (per seed), and the mean same-tap cosine of
epoch 0 against epoch 210 (per seed). Run from this folder: python3 tap_alignment.py"""
import csv
from collections import defaultdict

cos = defaultdict(list)  # (variant, layer, kind, seed) -> [(tap_i, tap_j, cos)]
for r in csv.DictReader(open("analysis/conv_similarity.csv")):
    variant = r["sets"].split(";")[0].split("=")[1]
    layer = r["param"].split(".")[2]
    cos[(variant, layer, r["kind"], r["seed"])].append((int(r["tap_i"]), int(r["tap_j"]), float(r["cos"])))


def mean(v):
    return sum(v) / len(v)


def off(variant, layer, kind, seed):
    return mean([c for i, j, c in cos[(variant, layer, kind, seed)] if i != j])


def diag(variant, layer, kind, seed):
    return mean([c for i, j, c in cos[(variant, layer, kind, seed)] if i == j])


seeds = ["1", "2", "3"]
print("| variant | layer | epoch 0: taps vs taps, off-diagonal mean | epoch 210: taps vs taps, off-diagonal mean (per seed) | epoch 0 vs 210, same tap (per seed, mean of 4 taps) |")
print("|---|---|---|---|---|")
for variant in ["standard", "gated_residual"]:
    for layer in ["0", "1"]:
        e0 = mean([off(variant, layer, "epoch0", s) for s in seeds])
        last = " / ".join(f"{off(variant, layer, 'last', s):+.2f}" for s in seeds)
        moved = " / ".join(f"{diag(variant, layer, 'epoch0_vs_last', s):.2f}" for s in seeds)
        print(f"| {variant} | {layer} | {e0:+.2f} | {last} | {moved} |")
