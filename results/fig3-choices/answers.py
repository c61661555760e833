"""Summarises answers43.csv (written by answers.sh): per choice and gamma, the mean over the 3
seeds of the share of pair-43 sequences whose answer (output - key) is the composite label,
the symmetric label, another pair's rule, one anchor's shift alone, or none of the task's
rules, and how many distinct offsets a model answers. Prints the README's table.
Run from this folder: python3 answers.py"""
import csv
from collections import defaultdict

share = defaultdict(lambda: defaultdict(float))  # (choice, gamma, replica) -> category -> share
distinct = defaultdict(int)
for r in csv.DictReader(open("answers43.csv")):
    key = (r["choice"], float(r["gamma"]), int(r["replica"]))
    rules = r["rules"].split("; ") if r["rules"] else []
    if "label" in rules:
        cat = "composite"
    elif "symmetric" in rules:
        cat = "symmetric"
    elif any(x.startswith("rule of") for x in rules):
        cat = "other pair's rule"
    elif any(x.endswith("alone") for x in rules):
        cat = "one anchor alone"
    else:
        cat = "no rule"
    share[key][cat] += int(r["count"]) / int(r["n"])
    distinct[key] += 1
cats = ["composite", "symmetric", "other pair's rule", "one anchor alone", "no rule"]
print("| choice | gamma | " + " | ".join(cats) + " | distinct offsets |")
print("|---|---|" + "---|" * (len(cats) + 1))
groups = defaultdict(list)
for key in share:
    groups[key[:2]].append(key)
for (choice, g) in sorted(groups, key=lambda k: (["seq9", "fanin", "tied", "lr2e-4"].index(k[0]), k[1])):
    ks = groups[(choice, g)]
    m = lambda cat: sum(share[k][cat] for k in ks) / len(ks)
    d = sum(distinct[k] for k in ks) / len(ks)
    print(f"| {choice} | {g} | " + " | ".join(f"{m(c):.2f}" for c in cats) + f" | {d:.0f} |")
