#!/usr/bin/env python3
"""A PyTorch trainer of one fig3 cell, written apart from the Rust code, to tell whether the
harness's late drift of the composite answer (learned near epoch 60, lost by epoch 210) is a
property of the task and recipe or of msym's implementation (issue 10). It starts from msym's
own initial weights and dataset, so only the implementation and the batch order differ:

  msym data export CONFIG --set seed=S --out DATA    # samples.csv: tokens, label, pair, split
  msym export CONFIG --seed S --out WEIGHTS          # model.safetensors (mamba_ssm names),
                                                     # config.resolved.toml, inputs/logits.json
  python3 scripts/torch_train.py --data DATA --weights WEIGHTS --out seed-S.csv [--device cuda]
          [--epochs N] [--eval-every 5] [--shuffle-seed S | --msym-order]

The model is scripts/mamba2_reference.py's `lm_logits`: SPEC 2.1's single-head Mamba2 LM
written apart from msym, with the SSM as its step-by-step recurrence (msym uses the quadratic
form), here in f32 with TF32 off. Before training, mamba2_reference's `check` compares its
logits on msym's 16 exported sequences with msym's (in f64, relative error 1e-4), so a model
that differs from msym's stops here. Training is SPEC 3: AdamW (the config's betas, eps and weight decay on every
parameter), clip_grad_norm_ at the config's grad_clip, the warm-up + cosine learning rate per
step, cross-entropy on the last position, full batches of the training rows (split train of
the trained pairs) reshuffled every epoch by torch's generator (msym shuffles with its own
streams, so the batch order differs: compare seeds as distributions, not step by step).
With --msym-order it takes msym's own batches instead (`msym data export ... --orders N`
writes DATA/orders/epoch-EEE.u32), so the two trainers differ only in their arithmetic: their
losses should agree closely for the first steps and part later.

Writes a CSV with msym's metrics.csv column names for the shared columns (epoch, step,
replica, seed, gamma, lr_peak, lr, train_loss, status, composite_test, symmetric_test,
seen_test), and cells.json (the config) beside it: name the CSV DIR/metrics.csv and DIR reads
as a run, for `msym plot --curves` and `msym compare MSYM_RUN DIR`. Only composite-task configs
with the plain Mamba2 block are accepted.
"""
import argparse
import csv
import json
import math
import os
import sys
import time
import tomllib

import torch
import torch.nn.functional as F

import mamba2_reference  # beside this script: python puts the script's folder on sys.path
from safetensors.torch import load_file


def lr_at(step, spe, t):
    """msym's schedule (crates/trainer/src/schedule.rs), per step."""
    warm, cos = t["warmup_epochs"] * spe, t["cosine_epochs"] * spe
    if step < warm:
        return t["lr_start"] + (t["lr_peak"] - t["lr_start"]) * step / warm
    if step < warm + cos:
        progress = (step - warm) / cos
        return t["lr_end"] + (t["lr_peak"] - t["lr_end"]) * 0.5 * (1 + math.cos(math.pi * progress))
    return t["lr_end"]


def shift_of(pair, task):
    for o in task.get("pair_overrides", []):
        if list(o["pair"]) == list(pair):
            return o["shift"]
    return sum(task["shifts"][task["anchors"].index(a)] for a in pair)


def read_data(path, task, device):
    """Training rows, pair-43 test rows (with composite and symmetric labels), seen test rows."""
    unseen = "".join(str(a) for a in task["unseen_pair"])
    sym_shift = shift_of(list(reversed(task["unseen_pair"])), task)
    train, unseen_test, seen_test = ([], []), ([], [], []), ([], [])
    with open(path) as f:
        for row in csv.DictReader(f):
            toks = [int(t) for t in row["tokens"].split()]
            label = int(row["label"])
            if row["split"] == "train" and row["trained"] == "true":
                train[0].append(toks)
                train[1].append(label)
            elif row["split"] == "test" and row["pair"] == unseen:
                unseen_test[0].append(toks)
                unseen_test[1].append(label)
                unseen_test[2].append(int(row["key"]) + sym_shift)
            elif row["split"] == "test" and row["pair"] not in ("", unseen):
                seen_test[0].append(toks)
                seen_test[1].append(label)
    as_t = lambda v: torch.tensor(v, dtype=torch.long, device=device)  # noqa: E731
    return tuple(as_t(v) for v in train), tuple(as_t(v) for v in unseen_test), tuple(as_t(v) for v in seen_test)


@torch.no_grad()
def accuracy(model, tokens, *labels, chunk=8192):
    preds = torch.cat([model(tokens[i : i + chunk]).argmax(-1) for i in range(0, len(tokens), chunk)])
    return [(preds == y).double().mean().item() for y in labels]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="`msym data export` directory")
    p.add_argument("--weights", required=True, help="`msym export` directory")
    p.add_argument("--out", required=True, help="CSV to write")
    p.add_argument("--device", default="cuda")
    p.add_argument("--epochs", type=int, help="default: the config's")
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--shuffle-seed", type=int, help="default: the exported replica's seed")
    p.add_argument("--msym-order", action="store_true",
                   help="visit the batches in msym's order (DATA/orders/, from `msym data export --orders N`)")
    a = p.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg = tomllib.load(open(f"{a.weights}/config.resolved.toml", "rb"))
    task, model_cfg, t = cfg["task"], cfg["model"], cfg["train"]
    if task["kind"] != "composite" or model_cfg["kind"] != "mamba2":
        sys.exit(f"task.kind {task['kind']} / model.kind {model_cfg['kind']}: only composite + mamba2 are written here")
    for k, plain in [("conv", "learned"), ("pos_encoding", "none"), ("residual_around_conv", False), ("gated_residual", False)]:
        if model_cfg.get(k, plain) != plain:
            sys.exit(f"model.{k} = {model_cfg[k]}: only the plain block ({k} = {plain}) is written here")
    if t.get("micro_batches", 1) != 1 or t.get("precision", "f32") != "f32":
        sys.exit("only micro_batches = 1 and precision f32 are written here")
    meta = json.load(open(f"{a.data}/dataset.json"))
    data_seed = meta["data_seed"]
    want = cfg.get("data_seed", cfg["seed"])
    if data_seed != want:
        sys.exit(f"{a.data} holds the data of data_seed {data_seed}, the weights' config uses {want}: "
                 f"export the data with the same config and --set seed=S as the weights")
    seed = a.shuffle_seed if a.shuffle_seed is not None else cfg["seed"]
    if a.msym_order and a.shuffle_seed is not None:
        sys.exit("--msym-order and --shuffle-seed: pick one batch order")
    if a.msym_order and meta.get("run_seed") != cfg["seed"]:
        sys.exit(f"{a.data}'s orders are for run seed {meta.get('run_seed')}, the weights' config has seed {cfg['seed']}")
    if not mamba2_reference.check(a.weights):
        sys.exit("the PyTorch model's logits differ from msym's at initialization; not training")
    device = torch.device(a.device)
    # msym's initial weights as the trained leaves, by mamba_ssm name.
    params = {k: v.float().to(device).requires_grad_() for k, v in load_file(f"{a.weights}/model.safetensors").items()}

    def model(tokens):
        """tokens: [B, L] -> last-position logits [B, V]"""
        return mamba2_reference.lm_logits(tokens, params, model_cfg)

    (xtr, ytr), (x43, y43, s43), (xseen, yseen) = read_data(f"{a.data}/samples.csv", task, device)
    b = t["batch_size"]
    spe = len(xtr) // b
    epochs = a.epochs or t["epochs"]
    print(f"{len(xtr)} training rows: {spe} batches of {b} per epoch; {len(x43)} unseen-pair test rows; {epochs} epochs")
    if len(xtr) != meta["training_rows"]:
        sys.exit(f"read {len(xtr)} training rows, dataset.json says {meta['training_rows']}: the row selection differs from msym's")

    def msym_order(epoch):
        """msym's batch order of 1-based `epoch`: positions in the training rows -> [n_train] long"""
        path = f"{a.data}/orders/epoch-{epoch - 1:03d}.u32"
        try:
            raw = open(path, "rb").read()
        except OSError:
            sys.exit(f"--msym-order: {path} is missing; export the data with --orders {epochs}")
        order = torch.frombuffer(bytearray(raw), dtype=torch.int32).long()
        if len(order) != len(xtr):
            sys.exit(f"{path} holds {len(order)} positions, there are {len(xtr)} training rows")
        return order.to(device)

    print("batch order: " + ("msym's (DATA/orders)" if a.msym_order else f"torch's generator, seed {seed}"))
    opt = torch.optim.AdamW(
        params.values(), lr=t["lr_start"], betas=(t["beta1"], t["beta2"]), eps=t["eps"], weight_decay=t["weight_decay"]
    )
    gen = torch.Generator(device="cpu").manual_seed(seed)
    # The run's config as msym's cells.json holds it, so that `msym compare MSYM_RUN THIS_DIR`
    # and `msym plot --curves` read this directory as a run.
    cfg["train"]["epochs"], cfg.setdefault("eval", {})["every_epochs"] = epochs, a.eval_every
    out_dir = os.path.dirname(a.out) or "."
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "cells.json"), "w") as f:
        json.dump([cfg], f)
    cols = ["epoch", "step", "replica", "seed", "gamma", "lr_peak", "lr", "train_loss", "status",
            "composite_test", "symmetric_test", "seen_test"]
    out = open(a.out, "w", newline="")
    w = csv.writer(out)
    w.writerow(cols)
    loss_sum, loss_n, step, t0 = torch.zeros((), device=device), 0, 0, time.time()

    def evaluate(epoch):
        nonlocal loss_sum, loss_n
        comp, sym = accuracy(model, x43, y43, s43)
        (seen,) = accuracy(model, xseen, yseen)
        mean_loss = (loss_sum / loss_n).item() if loss_n else float("nan")
        if not math.isfinite(mean_loss) and loss_n:
            status = "diverged"
        else:
            status = "finished" if epoch == epochs else "training"
        w.writerow([epoch, step, 0, seed, cfg["init"]["gamma"], t["lr_peak"], lr_at(step, spe, t), mean_loss, status,
                    comp, sym, seen])
        out.flush()
        print(f"epoch {epoch:4d} ({time.time() - t0:6.0f} s): loss {mean_loss:.4f} composite {comp:.3f} "
              f"symmetric {sym:.3f} seen-test {seen:.3f}", flush=True)
        loss_sum, loss_n = torch.zeros((), device=device), 0

    evaluate(0)
    for epoch in range(1, epochs + 1):
        order = msym_order(epoch) if a.msym_order else torch.randperm(len(xtr), generator=gen).to(device)
        for k in range(spe):
            idx = order[k * b : (k + 1) * b]
            for g in opt.param_groups:
                g["lr"] = lr_at(step, spe, t)
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params.values(), t["grad_clip"])
            opt.step()
            loss_sum += loss.detach()
            loss_n += 1
            step += 1
        if epoch % a.eval_every == 0 or epoch == epochs:
            evaluate(epoch)
    out.close()


if __name__ == "__main__":
    main()
