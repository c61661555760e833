#!/usr/bin/env python3
"""Golden numbers for the trainer's clipping and AdamW, computed with PyTorch:
torch.nn.utils.clip_grad_norm_ (max norm 1.0, over both parameters together) followed by
torch.optim.AdamW (lr 1e-2, betas 0.9/0.999, eps 1e-8, weight decay 0.01), three steps,
in float64. crates/trainer/tests/optim.rs quotes this script and reads its output:

  python3 scripts/optim_golden.py > crates/trainer/tests/golden/optim.txt
"""
import math

import torch

torch.set_default_dtype(torch.float64)
p1 = torch.nn.Parameter(torch.tensor([0.1 * math.sin(k) for k in range(12)]).reshape(3, 4))
p2 = torch.nn.Parameter(torch.tensor([0.1 * math.cos(k) for k in range(5)]))
opt = torch.optim.AdamW([p1, p2], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def grads(step):
    g1 = torch.tensor([3.0 * math.cos(0.5 * k + step) for k in range(12)]).reshape(3, 4)
    g2 = torch.tensor([0.2 * math.sin(0.3 * k - step) for k in range(5)])
    return g1, g2


def fmt(t):
    return "[" + ", ".join(f"{v:.17e}" for v in t.detach().flatten().tolist()) + "]"


for step in range(3):
    opt.zero_grad()
    p1.grad, p2.grad = grads(step)
    # Step 2 is small enough that clipping does not act (scale 0.05 of the others).
    if step == 2:
        p1.grad, p2.grad = p1.grad * 0.05, p2.grad * 0.05
    norm = torch.nn.utils.clip_grad_norm_([p1, p2], 1.0)
    print(f"step{step}_norm = [{norm.item():.17e}]")
    print(f"step{step}_g1 = {fmt(p1.grad)}")
    opt.step()
    print(f"step{step}_p1 = {fmt(p1)}")
    print(f"step{step}_p2 = {fmt(p2)}")
