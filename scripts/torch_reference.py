#!/usr/bin/env python3
"""The PyTorch baseline of `msym bench` (issue 8): the fig3 model and training step of
SPEC 2.1 and 3 written in plain PyTorch, one run at a time, as a researcher would.

  python3 scripts/torch_reference.py bench [--depths 2,4,7] [--compile] [--bf16] [--tf32]
          [--steps 50] [--warmup 10] [--batch 2048]

prints one JSON object per depth: {"impl": "torch", "mode": "eager" | "compile",
"precision", "depth", "batch", "steps", "ms_per_step", "warmup_s", "device", "torch"}.

Model: single-head Mamba2 blocks (RMSNorm, in_proj, causal depthwise conv + SiLU, the SSD
in its quadratic form as batched matmuls, gated RMSNorm, out_proj, residual), final
RMSNorm, linear head on the last position. Training: AdamW (0.9, 0.999, eps 1e-8, weight
decay 0.01), clip_grad_norm_(1.0), the warmup + cosine schedule, cross-entropy, batch
2048 of composite-task sequences (length 8, vocabulary 201) resident on the GPU and
reshuffled every epoch. Weights are drawn N(0, d1^-2gamma) with d1 the first dimension
(gamma 1.0). Matmuls in float32 (PyTorch's default: TF32 off); --bf16 runs the forward
pass under torch.autocast(bfloat16) instead; --tf32 lets the f32 matmuls (and cuDNN) round
their inputs to TF32 on tensor cores, which is what msym's f32 matmuls do on the GPU
(measured on an H200 in session 15: results/bench/session15-h200-2026-11-27), so that the
bench can compare like with like.

Only the timing is used; the data are drawn here with torch's generator, not with the
harness's ChaCha streams (the step costs the same for any tokens of these shapes).
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5
VOCAB, SEQ_LEN, N_SAMPLES = 201, 8, 300_000
D_MODEL, D_STATE, EXPAND, D_CONV = 32, 128, 2, 4


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


class Block(nn.Module):
    def __init__(self, d, n, expand, k):
        super().__init__()
        e = expand * d
        self.e, self.n, self.c = e, n, e + 2 * n
        self.norm = nn.Parameter(torch.ones(d))
        self.in_proj = nn.Linear(d, 2 * e + 2 * n + 1, bias=False)
        self.conv1d = nn.Conv1d(self.c, self.c, k, groups=self.c, padding=k - 1)
        self.dt_bias = nn.Parameter(torch.full((1,), math.log(math.expm1(0.01))))
        self.A_log = nn.Parameter(torch.zeros(1))
        self.D = nn.Parameter(torch.ones(1))
        self.mixer_norm = nn.Parameter(torch.ones(e))
        self.out_proj = nn.Linear(e, d, bias=False)

    def forward(self, h):
        """h: [B, L, D] -> [B, L, D]"""
        length = h.shape[1]
        z, xbc, dt = torch.split(self.in_proj(rmsnorm(h, self.norm)), [self.e, self.c, 1], dim=-1)
        xbc = F.silu(self.conv1d(xbc.transpose(1, 2))[..., :length].transpose(1, 2))
        x, b, c = torch.split(xbc, [self.e, self.n, self.n], dim=-1)
        dt = F.softplus(dt + self.dt_bias)  # [B, L, 1]
        cs = torch.cumsum(dt * -torch.exp(self.A_log), dim=1)  # [B, L, 1]
        seg = cs - cs.transpose(1, 2)  # [B, L, L]: sum of a over s+1..t
        future = torch.ones(length, length, dtype=torch.bool, device=h.device).triu(1)
        s = (c @ b.transpose(1, 2)) * torch.exp(seg.masked_fill(future, -math.inf))
        y = s @ (dt * x) + self.D * x
        return h + self.out_proj(rmsnorm(y * F.silu(z), self.mixer_norm))


class Mamba2Lm(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D_MODEL)
        self.layers = nn.ModuleList(Block(D_MODEL, D_STATE, EXPAND, D_CONV) for _ in range(depth))
        self.norm_f = nn.Parameter(torch.ones(D_MODEL))
        self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)

    def forward(self, tokens):
        """tokens: [B, L] -> logits at the last position [B, V]"""
        h = self.embedding(tokens)
        for layer in self.layers:
            h = layer(h)
        return self.lm_head(rmsnorm(h[:, -1], self.norm_f))


def init_gamma(model, gamma):
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            with torch.no_grad():
                p.normal_(0.0, p.shape[0] ** -gamma)


def composite_data(device, gen):
    """Fillers 20..99, one anchor pair at a random place, label key + both shifts."""
    shift = torch.tensor([0, 5, 1, -2, -8], device=device)
    tokens = torch.randint(20, 100, (N_SAMPLES, SEQ_LEN), device=device, generator=gen)
    a1 = torch.randint(1, 5, (N_SAMPLES,), device=device, generator=gen)
    a2 = torch.randint(1, 5, (N_SAMPLES,), device=device, generator=gen)
    pos = torch.randint(1, SEQ_LEN - 1, (N_SAMPLES,), device=device, generator=gen)
    rows = torch.arange(N_SAMPLES, device=device)
    key = tokens[rows, pos - 1]
    tokens[rows, pos], tokens[rows, pos + 1] = a1, a2
    return tokens, key + shift[a1] + shift[a2]


def lr_at(step, steps_per_epoch):
    """SPEC 3: linear 1e-5 -> 2.5e-4 over 10 epochs, cosine back to 1e-5 over 200."""
    warm, total = 10 * steps_per_epoch, 210 * steps_per_epoch
    lo, hi = 1e-5, 2.5e-4
    if step < warm:
        return lo + (hi - lo) * step / warm
    t = min(1.0, (step - warm) / (total - warm))
    return lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * t))


def bench_depth(depth, args, device):
    torch.manual_seed(1)
    gen = torch.Generator(device=device).manual_seed(1)
    model = Mamba2Lm(depth).to(device)
    init_gamma(model, 1.0)
    tokens, labels = composite_data(device, gen)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    forward = torch.compile(model) if args.compile else model
    steps_per_epoch = N_SAMPLES * 9 // 10 // args.batch
    order = torch.randperm(N_SAMPLES, device=device, generator=gen)

    def step(i):
        idx = order[(i % steps_per_epoch) * args.batch:][: args.batch]
        for group in opt.param_groups:
            group["lr"] = lr_at(i, steps_per_epoch)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.bf16):
            logits = forward(tokens[idx])
        loss = F.cross_entropy(logits.float(), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    t0 = time.perf_counter()
    for i in range(args.warmup):
        step(i)
    torch.cuda.synchronize()
    t1 = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        loss = step(i)
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    if not math.isfinite(loss.item()):
        raise SystemExit(f"depth {depth}: the loss is {loss.item()}")
    return {
        "impl": "torch",
        "mode": "compile" if args.compile else "eager",
        "precision": "bf16" if args.bf16 else "tf32" if args.tf32 else "f32",
        "depth": depth,
        "batch": args.batch,
        "steps": args.steps,
        "ms_per_step": 1000.0 * (t2 - t1) / args.steps,
        "warmup_s": t1 - t0,
        "device": torch.cuda.get_device_name(device),
        "torch": torch.__version__,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench", help="ms per training step, one run at a time")
    b.add_argument("--depths", default="2,4,7")
    b.add_argument("--compile", action="store_true")
    b.add_argument("--bf16", action="store_true")
    b.add_argument("--tf32", action="store_true")
    b.add_argument("--steps", type=int, default=50)
    b.add_argument("--warmup", type=int, default=10)
    b.add_argument("--batch", type=int, default=2048)
    args = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_reference.py bench needs a CUDA GPU (torch.cuda.is_available() is False)")
    if args.bf16 and args.tf32:
        raise SystemExit("torch_reference.py bench: --bf16 and --tf32 are two precisions; give one")
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    for depth in (int(d) for d in args.depths.split(",")):
        print(json.dumps(bench_depth(depth, args, device)), flush=True)


if __name__ == "__main__":
    main()
