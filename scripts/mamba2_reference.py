#!/usr/bin/env python3
"""A plain PyTorch implementation of the single-head Mamba2 LM of SPEC 2.1, written
independently of the Rust code: the SSM runs as the step-by-step recurrence (the Rust
model uses the quadratic form) and the convolution is torch's own conv1d.

  python3 scripts/mamba2_reference.py check DIR   compare `msym export` logits with PyTorch's
  python3 scripts/mamba2_reference.py golden      print the golden block outputs that
                                                  crates/models/tests/golden.rs quotes

Run as a script, everything runs in float64 on the CPU. Imported (scripts/torch_train.py),
`lm_logits` runs in the dtype and on the device of the weights it is given.
"""
import json
import math
import sys
import tomllib

import torch
import torch.nn.functional as F

EPS = 1e-5


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def block(h, p, pre, cfg):
    """h: [B, L, D] -> [B, L, D]; p maps mamba_ssm names to tensors."""
    d, n, k = cfg["d_model"], cfg["d_state"], cfg["d_conv"]
    e = cfg["expand"] * d
    u = rmsnorm(h, p[pre + "norm.weight"])
    zxbcdt = u @ p[pre + "mixer.in_proj.weight"].T
    z, xbc, dt = torch.split(zxbcdt, [e, e + 2 * n, 1], dim=-1)
    w = p[pre + "mixer.conv1d.weight"]  # [C, 1, K]
    conv = F.conv1d(xbc.transpose(1, 2), w, p[pre + "mixer.conv1d.bias"], padding=k - 1, groups=w.shape[0])
    post = F.silu(conv[..., : h.shape[1]].transpose(1, 2))
    if cfg.get("residual_around_conv"):
        post = post + xbc
    elif cfg.get("gated_residual"):
        post = post * xbc
    x, b, c = torch.split(post, [e, n, n], dim=-1)
    dt = F.softplus(dt + p[pre + "mixer.dt_bias"])  # [B, L, 1]
    a = -torch.exp(p[pre + "mixer.A_log"])  # [1]
    state = torch.zeros(h.shape[0], n, e, dtype=h.dtype, device=h.device)
    ys = []
    for t in range(h.shape[1]):
        state = torch.exp(dt[:, t] * a)[:, :, None] * state + dt[:, t, :, None] * b[:, t, :, None] * x[:, t, None, :]
        ys.append(torch.einsum("bn,bne->be", c[:, t], state) + p[pre + "mixer.D"] * x[:, t])
    y = torch.stack(ys, dim=1)
    y = rmsnorm(y * F.silu(z), p[pre + "mixer.norm.weight"])
    return h + y @ p[pre + "mixer.out_proj.weight"].T


def lm_logits(tokens, p, cfg):
    """tokens: [B, L] -> last-position logits [B, V]."""
    h = p["backbone.embedding.weight"][tokens]
    pos = cfg["pos_encoding"]
    if pos == "learned":
        h = h + p["backbone.pos_embedding.weight"][: tokens.shape[1]]
    elif pos == "sinusoidal":
        length, d = tokens.shape[1], h.shape[-1]
        pe = torch.zeros(length, d, dtype=h.dtype, device=h.device)
        for q in range(length):
            for j in range(d):
                angle = q * 10000.0 ** (-(j - j % 2) / d)
                pe[q, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
        h = h + pe
    i = 0
    while f"backbone.layers.{i}.norm.weight" in p:
        h = block(h, p, f"backbone.layers.{i}.", cfg)
        i += 1
    h = rmsnorm(h, p["backbone.norm_f.weight"])[:, -1]
    head = p.get("lm_head.weight", p["backbone.embedding.weight"])
    return h @ head.T


def check(directory):
    from safetensors.torch import load_file

    cfg = tomllib.load(open(f"{directory}/config.resolved.toml", "rb"))["model"]
    p = {k: v.double() for k, v in load_file(f"{directory}/model.safetensors").items()}
    tokens = torch.tensor(json.load(open(f"{directory}/inputs.json")))
    ours = torch.tensor(json.load(open(f"{directory}/logits.json")))
    ref = lm_logits(tokens, p, cfg)
    err = (ours - ref).abs().max().item()
    scale = ref.abs().max().item()
    print(f"{directory}: {tokens.shape[0]} sequences, max |msym - torch| = {err:.3e} (logits up to {scale:.3e})")
    agree = (ours.argmax(-1) == ref.argmax(-1)).float().mean().item()
    print(f"argmax agreement {agree:.3f}")
    return err <= 1e-4 * max(scale, 1.0)


def formula(name, shape):
    """The golden weights: 0.5 sin(0.7 k + c) with c from the tensor's name."""
    c = (sum(name.encode()) % 97) / 10.0
    numel = math.prod(shape)
    return torch.tensor([0.5 * math.sin(0.7 * k + c) for k in range(numel)]).reshape(shape)


GOLDEN = {"d_model": 4, "d_state": 3, "expand": 2, "d_conv": 4}


def golden():
    d, n, k = GOLDEN["d_model"], GOLDEN["d_state"], GOLDEN["d_conv"]
    e = GOLDEN["expand"] * d
    shapes = {
        "norm.weight": [d],
        "mixer.in_proj.weight": [2 * e + 2 * n + 1, d],
        "mixer.conv1d.weight": [e + 2 * n, 1, k],
        "mixer.conv1d.bias": [e + 2 * n],
        "mixer.dt_bias": [1],
        "mixer.A_log": [1],
        "mixer.D": [1],
        "mixer.norm.weight": [e],
        "mixer.out_proj.weight": [d, e],
    }
    pre = "backbone.layers.0."
    p = {pre + s: formula(pre + s, shape) for s, shape in shapes.items()}
    h = torch.tensor([math.cos(0.3 * q) for q in range(2 * 6 * d)]).reshape(2, 6, d)
    for variant in ["standard", "residual_around_conv"]:
        cfg = dict(GOLDEN, **{variant: True})
        y = block(h, p, pre, cfg).flatten().tolist()
        print(f"{variant} = [" + ", ".join(f"{v:.15e}" for v in y) + "]")


if __name__ == "__main__":
    # The golden numbers and the export check are f64 (formula() and the JSON logits take
    # the default dtype); set here, not on import, so an importer keeps its own default.
    torch.set_default_dtype(torch.float64)
    if sys.argv[1:2] == ["golden"]:
        golden()
    elif sys.argv[1:2] == ["check"]:
        ok = all([check(d) for d in sys.argv[2:]])
        sys.exit(0 if ok else 1)
    else:
        sys.exit(__doc__)
