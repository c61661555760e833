"""What each unstated choice does to the fig3 depth-2 cells that miss the paper most
(gamma 0.8, 0.9, 1.0, 1.5; seeds 1-3). Reads every run's metrics.csv, one folder per choice,
and the baseline (the project's defaults): results/fig3-d2-epoch144 (the whole row, killed at
epoch 144) and results/supp's standard variant (the gamma-1.0 cells to epoch 210).
Writes choices.csv (one row per choice and gamma) and prints the markdown tables of the README.
Run from this folder: python3 choices.py"""
import csv, glob, json, tomllib
from collections import defaultdict

GAMMAS = [0.8, 0.9, 1.0, 1.5]
AT = 140  # the last epoch every run evaluated (the baseline row stopped at 144)
ref = tomllib.load(open("../../references/paper_results.toml", "rb"))["fig3_mamba_phase"]
row = ref["depth"].index(2)
paper = {g: (ref["composite"][row][ref["gamma"].index(g)], ref["symmetric"][row][ref["gamma"].index(g)])
         for g in GAMMAS}


def replicas(pattern, keep=lambda cell: True):
    """(gamma, seed) -> {epoch: (composite, symmetric)} of every replica under pattern."""
    out = {}
    for f in sorted(glob.glob(pattern)):
        cells = json.load(open(f.replace("metrics.csv", "cells.json")))
        for r in csv.DictReader(open(f)):
            cell = cells[int(r["replica"])]
            g = float(r["gamma"])
            if g not in GAMMAS or not keep(cell):
                continue
            out.setdefault((g, int(r["seed"])), {})[int(r["epoch"])] = (
                float(r["composite_test"]), float(r["symmetric_test"]))
    return out


def stats(reps):
    """gamma -> dict of seed means: at AT, final (210, None if not reached), max over epochs."""
    by = defaultdict(list)
    for (g, _), curve in reps.items():
        by[g].append(curve)
    res = {}
    for g, curves in by.items():
        mean = lambda xs: sum(xs) / len(xs)
        res[g] = {
            "n": len(curves),
            "at": tuple(mean([c[AT][k] for c in curves]) for k in (0, 1)),
            "final": tuple(mean([c[210][k] for c in curves]) for k in (0, 1)) if all(210 in c for c in curves) else None,
            "max": tuple(mean([max(v[k] for v in c.values()) for c in curves]) for k in (0, 1)),
        }
    return res


base = stats(replicas("../fig3-d2-epoch144/runs/*/metrics.csv"))
supp = stats(replicas("../supp/runs/*/metrics.csv", lambda c: not c["model"].get("gated_residual", False)))
base[1.0]["final"] = supp[1.0]["final"]
choices = {"defaults": base}
labels = {"defaults": "defaults (first_dim, untied, seq_len 8, lr 2.5e-4)", "seq9": "task.seq_len=9",
          "fanin": "init.rule=fan_in", "tied": "init.tied_head=true", "lr2e-4": "train.lr_peak=2e-4"}
for name in ["seq9", "fanin", "tied", "lr2e-4"]:
    choices[name] = stats(replicas(f"{name}/runs/*/metrics.csv"))

w = csv.writer(open("choices.csv", "w", newline=""))
w.writerow(["choice", "gamma", "seeds", "paper_composite", "paper_symmetric", f"composite_e{AT}", f"symmetric_e{AT}",
            "composite_final", "symmetric_final", "composite_max", "symmetric_max"])
f = lambda x: "" if x is None else f"{x:.4f}"
for name, st in choices.items():
    for g in GAMMAS:
        s = st[g]
        fin = s["final"] or (None, None)
        w.writerow([name, g, s["n"], *paper[g], *map(f, s["at"]), *map(f, fin), *map(f, s["max"])])

p2 = lambda t: "-" if t is None else f"{t[0]:.2f} / {t[1]:.2f}"
print("Composite / symmetric on pair 43's test group, mean of 3 seeds.\n")
for key, title in [("final", "at epoch 210 (the paper's value)"), ("at", f"at epoch {AT}"),
                   ("max", "max over the evaluated epochs")]:
    print(f"**{title}**\n")
    print("| choice | " + " | ".join(f"gamma {g}" for g in GAMMAS) + " | mean abs. error (comp. / sym.) |")
    print("|---|" + "---|" * (len(GAMMAS) + 1))
    print("| paper | " + " | ".join(p2(paper[g]) for g in GAMMAS) + " | |")
    for name, st in choices.items():
        vals = [st[g][key] for g in GAMMAS]
        if all(v is not None for v in vals):
            mae = tuple(sum(abs(v[k] - paper[g][k]) for v, g in zip(vals, GAMMAS)) / len(GAMMAS) for k in (0, 1))
            err = f"{mae[0]:.2f} / {mae[1]:.2f}"
        else:
            err = "-"
        print(f"| {labels[name]} | " + " | ".join(p2(v) for v in vals) + f" | {err} |")
    print()
