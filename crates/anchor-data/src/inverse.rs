//! Generator of inverse sequence matching (SPEC 1.3, Fig. 7).
//!
//! Layout of one sample (29 tokens at filler_len 6):
//! `k0 k0 k0 s | k1 k1 k1 s | ... | k4 k4 k4 s | f * filler_len | q q q`
//! where k0..k4 are five distinct orderings of a 3-token set, s are separators and f
//! fillers (never in the set), and q is key sequence `label` reversed.

use crate::dataset::{Group, SampleMeta, Split};
use crate::error::{TaskError, bad, check_weights};
use crate::groups::allocate;
use crate::pair_task::Generated;
use crate::rng::DataRng;
use crate::task::{INVERSE_N_KEYS, INVERSE_SET_SIZE, InverseMatchingTask};

/// The six orderings of three items, in lexicographic order.
pub const PERMUTATIONS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

pub(crate) fn validate(t: &InverseMatchingTask) -> Result<(), TaskError> {
    if t.n_samples == 0 {
        return Err(bad("n_samples", "= 0; a dataset needs at least one sample"));
    }
    let v = t.vocab_size;
    for (lo_f, hi_f, lo, hi) in [
        ("token_min", "token_max", t.token_min, t.token_max),
        ("ood_min", "ood_max", t.ood_min, t.ood_max),
    ] {
        if lo > hi {
            return Err(bad(lo_f, format!("= {lo} is above task.{hi_f} = {hi}")));
        }
        if hi >= v {
            return Err(bad(
                hi_f,
                format!(
                    "= {hi} is outside the vocabulary 0..={} (task.vocab_size = {v})",
                    v.saturating_sub(1)
                ),
            ));
        }
        // A set of 3 plus at least one other token for separators and fillers.
        if hi - lo + 1 < 4 {
            return Err(bad(
                &format!("{lo_f}..{hi_f}"),
                format!("= {lo}..={hi} holds fewer than 4 tokens; a set of 3 needs separators outside it"),
            ));
        }
    }
    // The test split needs three tokens in one residue class mod 3.
    if (0..3).all(|r| (t.token_min..=t.token_max).filter(|x| x % 3 == r).count() < 3) {
        return Err(bad(
            "token_min..token_max",
            "has no residue class mod 3 with 3 tokens, so the test split is empty",
        ));
    }
    check_weights(&[
        ("train_weight", t.train_weight),
        ("test_weight", t.test_weight),
        ("ood_weight", t.ood_weight),
    ])
}

/// Whether all three set tokens share one residue class mod 3 (the test split's rule).
pub fn one_residue_class(set: &[u32]) -> bool {
    set.iter().all(|x| x % 3 == set[0] % 3)
}

/// Groups train, test, OOD in that order; per sample: the set (rejection until the split
/// rule holds), the shuffled orderings, the label, then tokens left to right.
pub(crate) fn generate(t: &InverseMatchingTask, rng: &mut DataRng) -> Generated {
    let l = t.seq_len();
    let splits = [Split::Train, Split::Test, Split::Ood];
    let sizes = allocate(
        t.n_samples,
        &[t.train_weight.into(), t.test_weight.into(), t.ood_weight.into()],
    );
    let mut out = Generated {
        tokens: Vec::with_capacity(t.n_samples * l),
        labels: Vec::with_capacity(t.n_samples),
        meta: Vec::with_capacity(t.n_samples),
        groups: Vec::new(),
    };
    for (g, (&split, &size)) in splits.iter().zip(&sizes).enumerate() {
        out.groups.push(Group {
            pair: None,
            split,
            size,
            trained: split == Split::Train,
        });
        let (lo, hi) = if split == Split::Ood {
            (t.ood_min, t.ood_max)
        } else {
            (t.token_min, t.token_max)
        };
        for _ in 0..size {
            let set = draw_set(rng, lo, hi, split);
            let mut orders = PERMUTATIONS;
            rng.shuffle(&mut orders);
            let label = rng.index(INVERSE_N_KEYS);
            let outside = |rng: &mut DataRng| loop {
                let x = rng.uniform(lo, hi);
                if !set.contains(&x) {
                    break x;
                }
            };
            for order in &orders[..INVERSE_N_KEYS] {
                out.tokens.extend(order.iter().map(|&i| set[i]));
                let sep = outside(rng);
                out.tokens.push(sep);
            }
            for _ in 0..t.filler_len {
                let f = outside(rng);
                out.tokens.push(f);
            }
            out.tokens.extend(orders[label].iter().rev().map(|&i| set[i]));
            out.labels.push(label as u32);
            out.meta.push(SampleMeta {
                group: g as u32,
                key: None,
                position: None,
            });
        }
    }
    out
}

fn draw_set(rng: &mut DataRng, lo: u32, hi: u32, split: Split) -> [u32; INVERSE_SET_SIZE] {
    loop {
        let mut set = [0u32; INVERSE_SET_SIZE];
        let mut n = 0;
        while n < INVERSE_SET_SIZE {
            let x = rng.uniform(lo, hi);
            if !set[..n].contains(&x) {
                set[n] = x;
                n += 1;
            }
        }
        let ok = match split {
            Split::Train => !one_residue_class(&set),
            Split::Test => one_residue_class(&set),
            Split::Ood => true,
        };
        if ok {
            return set;
        }
    }
}
