"""Which key do the trained fig7 models pick, right or wrong?

Usage (numpy needed; the checkpoints are not committed, see ../README.md):
    for s in 1 2 3; do msym data export configs/fig7.toml --set seed=$s --out /tmp/f7data-s$s; done
    python3 errors.py SWEEP_DIR /tmp/f7data-s N VARIANT[,VARIANT..]

SWEEP_DIR holds runs/<id>/checkpoint.safetensors; replica r (seed r+1) is scored on the
first N samples of each split of data seed r+1 (its own training data for 'train').
Per replica and split: accuracy, cross-entropy over the 201-way head, the mean of the
largest three probabilities among the 5 key classes, the histogram of predicted classes,
and what a wrong prediction has in common with the query q (keys k, 0-based positions):
'same first token as query[2]' = the predicted key starts with the query's last token,
the other candidate of a reader that matches that one token only.
"""
import sys
from collections import Counter
import numpy as np
sys.path.insert(0, __import__('os').path.dirname(__file__))
from fwd import load, transformer, mamba, read_split

RUNS = {'transformer': ('10555b13e702', None, None),
        'mamba_res_pe': ('3e3f595b3001', 'sinusoidal', True),
        'mamba': ('34688a3c1402', 'none', False)}

def forward(name, P, r, tok):
    _, pos, res = RUNS[name]
    if name == 'transformer':
        return transformer(P, r, tok)[0]
    return mamba(P, r, tok, pos, res)[0]

def relation(tok, label, pred):
    out = []
    for t, y, p in zip(tok, label, pred):
        keys = [tuple(t[4 * i:4 * i + 3]) for i in range(5)]
        q = tuple(t[-3:])
        if p == y: out.append('right'); continue
        if p > 4: out.append('non-label'); continue
        k = keys[p]
        if k[2] == q[0]: out.append('same last token as query[0]')
        elif k[1] == q[1]: out.append('same middle token')
        elif k[0] == q[2]: out.append('same first token as query[2]')
        else: out.append('no token in place')
    return out

sweep, data, n, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(',')
for name in names:
    P = load(f'{sweep}/runs/{RUNS[name][0]}/checkpoint.safetensors')
    for r in range(3):
        for split in ('train', 'test', 'ood'):
            tok, lab = read_split(f'{data}{r + 1}/samples.csv', split, n)
            logits = np.concatenate([forward(name, P, r, tok[i:i + 250]) for i in range(0, len(tok), 250)])
            pred = logits.argmax(-1)
            lp = logits - logits.max(-1, keepdims=True)
            lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
            loss = -lp[np.arange(len(lab)), lab].mean()
            top = np.sort(np.exp(lp[:, :5]), 1)[:, ::-1]
            c = Counter(relation(tok, lab, pred))
            print(f'{name} seed {r + 1} {split:5s} n={len(lab)} acc {np.mean(pred == lab):.3f} loss {loss:.3f} '
                  f'p1 {top[:, 0].mean():.2f} p2 {top[:, 1].mean():.2f} p3 {top[:, 2].mean():.2f} '
                  f'pred-hist {np.bincount(pred, minlength=5)[:5].tolist()} | '
                  + ', '.join(f'{k} {v / len(lab):.3f}' for k, v in sorted(c.items())), flush=True)
