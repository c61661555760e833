"""Does the fig3 transition at depth 7 move with more seeds, more weight decay or a tied head?
Issue 10 item 3. Reads every run's metrics.csv: the full sweep's depth-7 cells at gamma
0.5-0.8 (../fig3, seeds 1-3, the project's defaults) and one folder per change here
(seeds456: seeds 4-6; wd0.1: weight decay 0.1; tied: the head tied to the embedding).
Writes transition.csv (one row per change and gamma) and prints the README's tables:
composite accuracy on pair 43's test group at epoch 210 (the paper's value), at the last
epoch every folder reached, and each seed's value at 210.
Run from this folder: python3 transition.py"""
import csv, glob, json, tomllib
from collections import defaultdict

DEPTH, GAMMAS = 7, [0.5, 0.6, 0.7, 0.8]
ref = tomllib.load(open("../../references/paper_results.toml", "rb"))["fig3_mamba_phase"]
row = ref["depth"].index(DEPTH)
paper = {g: ref["composite"][row][ref["gamma"].index(g)] for g in GAMMAS}
CHANGES = [("defaults", "../fig3", "the full sweep (seeds 1-3, weight decay 0.01, untied)"),
           ("seeds456", "seeds456", "seeds 4, 5, 6 (`sweep.grid.seed=[4,5,6]`)"),
           ("wd0.1", "wd0.1", "`train.weight_decay=0.1`"),
           ("tied", "tied", "`init.tied_head=true`")]


def curves(folder):
    """(gamma, seed) -> {epoch: composite_test} of the depth-7 replicas at GAMMAS."""
    out = {}
    for f in sorted(glob.glob(f"{folder}/runs/*/metrics.csv")):
        cells = json.load(open(f.replace("metrics.csv", "cells.json")))
        for r in csv.DictReader(open(f)):
            g = float(r["gamma"])
            if cells[int(r["replica"])]["model"]["depth"] != DEPTH or g not in GAMMAS:
                continue
            out.setdefault((g, int(r["seed"])), {})[int(r["epoch"])] = float(r["composite_test"])
    return out


data = {name: curves(folder) for name, folder, _ in CHANGES}
last = min(max(c) for d in data.values() for c in d.values())  # the last epoch all reached
mean = lambda xs: sum(xs) / len(xs)


def at(name, g, epoch):
    """Seeds' values at epoch (None where a seed has not reached it), in seed order."""
    return [c.get(epoch) for (gg, _), c in sorted(data[name].items()) if gg == g]


w = csv.writer(open("transition.csv", "w", newline=""))
w.writerow(["change", "gamma", "seeds", "paper_composite", "composite_final", f"composite_e{last}",
            "composite_max", "composite_final_per_seed"])
for name, _, _ in CHANGES:
    for g in GAMMAS:
        fin, now = at(name, g, 210), at(name, g, last)
        best = [max(c.values()) for (gg, _), c in sorted(data[name].items()) if gg == g]
        done = None not in fin
        w.writerow([name, g, len(fin), paper[g], f"{mean(fin):.4f}" if done else "", f"{mean(now):.4f}",
                    f"{mean(best):.4f}", " ".join("" if v is None else f"{v:.4f}" for v in fin)])

print(f"Composite accuracy on pair 43's test group at depth {DEPTH}, mean of 3 seeds (- : not reached).\n")
tables = [(210, "epoch 210 (the paper's value)")]
if last < 210:  # a folder still training: also compare all of them where each one stands
    tables.append((last, f"epoch {last}, which every folder reached"))
for epoch, title in tables:
    print(f"**{title}**\n")
    print("| change | " + " | ".join(f"gamma {g}" for g in GAMMAS) + " | mean abs. error |")
    print("|---|" + "---|" * (len(GAMMAS) + 1))
    print("| paper | " + " | ".join(f"{paper[g]:.2f}" for g in GAMMAS) + " | |")
    for name, _, label in CHANGES:
        vals = [at(name, g, epoch) for g in GAMMAS]
        if any(None in v for v in vals):
            print(f"| {label} | " + " | ".join("-" for _ in GAMMAS) + " | - |")
            continue
        ms = [mean(v) for v in vals]
        mae = mean([abs(m - paper[g]) for m, g in zip(ms, GAMMAS)])
        print(f"| {label} | " + " | ".join(f"{m:.2f}" for m in ms) + f" | {mae:.2f} |")
    print()
print("**each seed at epoch 210**\n")
print("| change | " + " | ".join(f"gamma {g}" for g in GAMMAS) + " |")
print("|---|" + "---|" * len(GAMMAS))
for name, _, label in CHANGES:
    vals = [at(name, g, 210) for g in GAMMAS]
    if any(None in v for v in vals):
        continue
    print(f"| {label} | " + " | ".join(" / ".join(f"{x:.2f}" for x in v) for v in vals) + " |")
