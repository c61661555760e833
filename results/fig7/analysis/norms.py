"""Row norms of the trained token embeddings (in-range tokens 20-100 vs the OOD tokens
101-200, which no training sample holds) against the positional part of the input.
Usage: python3 norms.py SWEEP_DIR"""
import sys, os
import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
from fwd import load, sinusoidal
sweep = sys.argv[1]
for name, run, emb, pos in [('transformer', '10555b13e702', 'embedding.weight', 'pos_embedding.weight'),
                            ('mamba_res_pe', '3e3f595b3001', 'backbone.embedding.weight', None),
                            ('mamba', '34688a3c1402', 'backbone.embedding.weight', None)]:
    P = load(f'{sweep}/runs/{run}/checkpoint.safetensors')
    for r in range(3):
        n = np.linalg.norm(P[emb][r], axis=1)
        line = (f'{name:12s} seed {r + 1}: |emb| tokens 20-100 median {np.median(n[20:101]):.3f}, '
                f'OOD 101-200 median {np.median(n[101:201]):.3f}')
        if pos:
            line += f', |learned pos row| median {np.median(np.linalg.norm(P[pos][r], axis=1)):.3f}'
        elif name == 'mamba_res_pe':
            line += f', |sinusoidal row| {np.linalg.norm(sinusoidal(29, 128), axis=1).mean():.3f}'
        print(line)
