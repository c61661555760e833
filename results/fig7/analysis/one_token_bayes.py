# Bayes-optimal accuracy and cross-entropy of a reader that matches only some
# (key position, query position) token pairs of inverse matching (SPEC 1.3). python3 only.
# The query q is key t reversed, so q[j] = t[2 - j]; the five keys are five of the six
# orderings of the set, each missing one equally likely.
import itertools, math
P = list(itertools.permutations(range(3)))

def stats(constraints):
    acc = ce = n = 0
    for missing in range(6):
        keys = [p for i, p in enumerate(P) if i != missing]
        for t in keys:
            q = t[::-1]
            cand = [k for k in keys if all(k[i] == q[j] for i, j in constraints)]
            acc += 1 / len(cand); ce += math.log(len(cand)); n += 1
    return acc / n, ce / n

for name, c in [("nothing (the set only)", []),
                ("one token: key[2]==q[0]", [(2, 0)]),
                ("one token: key[1]==q[1]", [(1, 1)]),
                ("one token: key[0]==q[2] (q[2] = the last input token)", [(0, 2)]),
                ("two tokens: key[0]==q[2] and key[1]==q[1]", [(0, 2), (1, 1)])]:
    a, l = stats(c)
    print(f"{name:55s} acc {a:.4f}  loss {l:.4f}")
for p in (0.7, 0.75, 0.8):
    print(f"one-token reader on {p:.0%} of inputs, chance on the rest: "
          f"acc {p * 0.6 + (1 - p) * 0.2:.3f} loss {p * 0.8 * math.log(2) + (1 - p) * math.log(5):.3f}")
