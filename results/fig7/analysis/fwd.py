"""NumPy forward of the fig7 checkpoints (transformer and Mamba2), written from
crates/models/src/{transformer,transformer_lm,mamba2,mamba2_lm,ssd,ops}.rs."""
import json, struct, sys, itertools
import numpy as np

def load(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        h = json.loads(f.read(n)); base = 8 + n
        buf = f.read()
    out = {}
    for k, v in h.items():
        if k.startswith('param/'):
            a, b = v['data_offsets']
            out[k[6:]] = np.frombuffer(buf[a:b], dtype=np.float32).reshape(v['shape']).astype(np.float64)
    return out

def ln(x, w, b, eps=1e-5):
    m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b

def rms(x, w, eps=1e-5):
    return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps) * w

silu = lambda x: x / (1 + np.exp(-x))
softplus = lambda x: np.logaddexp(0, x)

def sinusoidal(l, d):
    pe = np.zeros((l, d))
    for p in range(l):
        for j in range(d):
            ang = p * 10000.0 ** (-(j - j % 2) / d)
            pe[p, j] = np.sin(ang) if j % 2 == 0 else np.cos(ang)
    return pe

def transformer(P, r, tok):
    g = lambda k: P[k][r]
    B, L = tok.shape
    h = g('embedding.weight')[tok] + g('pos_embedding.weight')[:L]
    mask = np.triu(np.ones((L, L), bool), 1)
    attn = []
    for i in range(2):
        p = f'layers.{i}.'
        q = h @ g(p + 'attn.q_proj.weight').T; k = h @ g(p + 'attn.k_proj.weight').T
        v = h @ g(p + 'attn.v_proj.weight').T
        s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1]); s[:, mask] = -np.inf
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True); attn.append(s)
        h = ln(h + (s @ v) @ g(p + 'attn.o_proj.weight').T, g(p + 'norm1.weight'), g(p + 'norm1.bias'))
        f = silu(h @ g(p + 'ffn.w1.weight').T) @ g(p + 'ffn.w2.weight').T
        h = ln(h + f, g(p + 'norm2.weight'), g(p + 'norm2.bias'))
    return h[:, -1] @ g('lm_head.weight').T + g('lm_head.bias'), attn

def causal_conv(x, w, b):  # x [B,L,C], w [C,K]
    K = w.shape[1]; B, L, C = x.shape
    xp = np.concatenate([np.zeros((B, K - 1, C)), x], 1)
    return b + sum(w[:, k] * xp[:, k:k + L] for k in range(K))

def mamba(P, r, tok, pos, residual):
    g = lambda k: P[k][r]
    B, L = tok.shape
    h = g('backbone.embedding.weight')[tok]
    if pos == 'sinusoidal': h = h + sinusoidal(L, h.shape[-1])
    S_all = []
    for i in range(2):
        p = f'backbone.layers.{i}.'; m = p + 'mixer.'
        zxbcdt = rms(h, g(p + 'norm.weight')) @ g(m + 'in_proj.weight').T
        E = g(m + 'out_proj.weight').shape[1]; N = (zxbcdt.shape[-1] - 2 * E - 1) // 2; C = E + 2 * N
        z = zxbcdt[..., :E]; xbc = zxbcdt[..., E:E + C]; dt_raw = zxbcdt[..., E + C]
        post = silu(causal_conv(xbc, g(m + 'conv1d.weight').reshape(C, -1), g(m + 'conv1d.bias')))
        ssm_in = post + xbc if residual else post
        x = ssm_in[..., :E]; Bm = ssm_in[..., E:E + N]; Cm = ssm_in[..., E + N:]
        dt = softplus(dt_raw + g(m + 'dt_bias')[0]); a = -np.exp(g(m + 'A_log')[0]) * dt
        cs = np.cumsum(a, 1); seg = cs[:, :, None] - cs[:, None, :]
        seg[:, np.triu(np.ones((L, L), bool), 1)] = -np.inf
        S = (Cm @ Bm.transpose(0, 2, 1)) * np.exp(seg); S_all.append(S)
        y = S @ (x * dt[..., None]) + g(m + 'D')[0] * x
        h = h + rms(y * silu(z), g(m + 'norm.weight')) @ g(m + 'out_proj.weight').T
    return rms(h[:, -1], g('backbone.norm_f.weight')) @ g('lm_head.weight').T, S_all

def read_split(path, split, n):
    toks, labels = [], []
    with open(path) as f:
        next(f)
        for line in f:
            c = line.rstrip('\n').split(',')
            if c[4] == split:
                toks.append([int(t) for t in c[1].split()]); labels.append(int(c[2]))
                if len(toks) == n: break
    return np.array(toks), np.array(labels)
