# Sums the training time of fig3's runs by depth: python3 results/fig3/train_time.py
# Each run's seconds come from its last manifest segment (`train_seconds_total`, runs since
# session 11) or its summary.json (`train_seconds`, older runs); both count training and
# evaluation, not the process start. The depth is read off the run's first cell.
import glob, json, os, collections

here = os.path.dirname(os.path.abspath(__file__))
by_depth = collections.defaultdict(lambda: [0, 0.0])
for run in sorted(glob.glob(os.path.join(here, "runs", "*"))):
    manifest = os.path.join(run, "manifest.json")
    if os.path.exists(manifest):
        secs = json.load(open(manifest))["segments"][-1]["train_seconds_total"]
    else:
        secs = json.load(open(os.path.join(run, "summary.json")))["train_seconds"]
    depth = json.load(open(os.path.join(run, "cells.json")))[0]["model"]["depth"]
    by_depth[depth][0] += 1
    by_depth[depth][1] += secs
print("| depth | runs | train s | s per run |")
print("|---|---|---|---|")
for d in sorted(by_depth):
    n, t = by_depth[d]
    print(f"| {d} | {n} | {t:.0f} | {t / n:.0f} |")
total = sum(t for _, t in by_depth.values())
print(f"| all | {sum(n for n, _ in by_depth.values())} | {total:.0f} ({total / 3600:.2f} h) | |")
