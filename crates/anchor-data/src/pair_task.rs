//! Generator of the two anchor-pair tasks (SPEC 1.1 and 1.2): a key at position p, two
//! anchors at p+1 and p+2, fillers elsewhere; label = key + the pair's shift.

use crate::dataset::{Group, SampleMeta, Split};
use crate::error::{TaskError, bad, check_weights};
use crate::groups::allocate;
use crate::rng::DataRng;
use crate::task::{CompositeTask, FullSymmetryTask};

/// Both anchor-pair tasks reduced to what generation needs.
#[derive(Debug, Clone)]
pub(crate) struct PairTaskSpec {
    pub seq_len: usize,
    pub n_samples: usize,
    pub vocab_size: u32,
    pub filler: (u32, u32),
    /// Every pair of the task with its total shift, in generation order.
    pub pair_shifts: Vec<([u32; 2], i32)>,
    pub unseen_pair: [u32; 2],
    pub weights: (u32, u32),
}

impl PairTaskSpec {
    pub fn from_composite(t: &CompositeTask) -> Result<Self, TaskError> {
        check_basics(
            t.seq_len,
            t.n_samples,
            t.vocab_size,
            (t.filler_min, t.filler_max),
            &t.anchors,
        )?;
        check_shift_count("shifts", &t.shifts, &t.anchors)?;
        let shift = |a: u32| t.shifts[t.anchors.iter().position(|&x| x == a).expect("a is an anchor")];
        for o in &t.pair_overrides {
            check_pair_of_anchors("pair_overrides", o.pair, &t.anchors)?;
        }
        // Every ordered pair of anchors, the diagonal included (16 pairs for 4 anchors).
        let mut pair_shifts = Vec::new();
        for &a in &t.anchors {
            for &b in &t.anchors {
                let over = t.pair_overrides.iter().find(|o| o.pair == [a, b]);
                pair_shifts.push(([a, b], over.map_or(shift(a) + shift(b), |o| o.shift)));
            }
        }
        Self::checked(Self {
            seq_len: t.seq_len,
            n_samples: t.n_samples,
            vocab_size: t.vocab_size,
            filler: (t.filler_min, t.filler_max),
            pair_shifts,
            unseen_pair: t.unseen_pair,
            weights: (t.train_weight, t.test_weight),
        })
    }

    pub fn from_full_symmetry(t: &FullSymmetryTask) -> Result<Self, TaskError> {
        check_basics(
            t.seq_len,
            t.n_samples,
            t.vocab_size,
            (t.filler_min, t.filler_max),
            &t.anchors,
        )?;
        check_shift_count("shifts_set1", &t.shifts_set1, &t.anchors)?;
        check_shift_count("shifts_set2", &t.shifts_set2, &t.anchors)?;
        let mut pair_shifts: Vec<([u32; 2], i32)> = Vec::new();
        for (field, pairs, shifts) in [
            ("pairs_set1", &t.pairs_set1, &t.shifts_set1),
            ("pairs_set2", &t.pairs_set2, &t.shifts_set2),
        ] {
            for &p in pairs {
                check_pair_of_anchors(field, p, &t.anchors)?;
                if pair_shifts.iter().any(|(q, _)| *q == p) {
                    return Err(bad(
                        field,
                        format!("lists pair ({},{}) twice; each pair belongs to one set", p[0], p[1]),
                    ));
                }
                let s = |a: u32| shifts[t.anchors.iter().position(|&x| x == a).expect("checked")];
                pair_shifts.push((p, s(p[0]) + s(p[1])));
            }
        }
        Self::checked(Self {
            seq_len: t.seq_len,
            n_samples: t.n_samples,
            vocab_size: t.vocab_size,
            filler: (t.filler_min, t.filler_max),
            pair_shifts,
            unseen_pair: t.unseen_pair,
            weights: (t.train_weight, t.test_weight),
        })
    }

    /// Every check that would make generation impossible or a label leave the vocabulary.
    fn checked(self) -> Result<Self, TaskError> {
        let (l, (lo, hi), v) = (self.seq_len, self.filler, self.vocab_size);
        if !self.pair_shifts.iter().any(|(p, _)| *p == self.unseen_pair) {
            let [a, b] = self.unseen_pair;
            return Err(bad("unseen_pair", format!("= [{a}, {b}] is not a pair of this task")));
        }
        for &([a, b], s) in &self.pair_shifts {
            let (min, max) = (i64::from(lo) + i64::from(s), i64::from(hi) + i64::from(s));
            if min < 0 || max >= i64::from(v) {
                return Err(bad(
                    "vocab_size",
                    format!(
                        "= {v} cannot hold the labels of pair ({a},{b}), which range over {min}..={max} (key {lo}..={hi} shifted by {s:+}); labels must lie in 0..={}",
                        v - 1
                    ),
                ));
            }
        }
        // Every key position p needs keys on both sides of the split rule (key mod L == p).
        for p in 0..=(l - 3) {
            let test = (lo..=hi).filter(|k| *k as usize % l == p).count();
            let train = (hi - lo + 1) as usize - test;
            if test == 0 || train == 0 {
                return Err(bad(
                    "filler_min..filler_max",
                    format!(
                        "= {lo}..={hi} has no key with key mod {l} {} {p}, so position {p} has an empty {} group; widen the filler range to at least seq_len values",
                        if test == 0 { "==" } else { "!=" },
                        if test == 0 { "test" } else { "train" }
                    ),
                ));
            }
        }
        check_weights(&[("train_weight", self.weights.0), ("test_weight", self.weights.1)])?;
        Ok(self)
    }
}

/// Checks that come before any pair: lengths, ranges and the anchors themselves.
fn check_basics(
    seq_len: usize,
    n_samples: usize,
    vocab: u32,
    filler: (u32, u32),
    anchors: &[u32],
) -> Result<(), TaskError> {
    let l = seq_len;
    if l < 3 {
        return Err(bad(
            "seq_len",
            format!("= {l} is too short; the key and the two anchors need at least 3 positions"),
        ));
    }
    if n_samples == 0 {
        return Err(bad("n_samples", "= 0; a dataset needs at least one sample"));
    }
    let (lo, hi) = filler;
    let v = vocab;
    if lo > hi {
        return Err(bad("filler_min", format!("= {lo} is above task.filler_max = {hi}")));
    }
    if hi >= v {
        return Err(bad(
            "filler_max",
            format!(
                "= {hi} is outside the vocabulary 0..={} (task.vocab_size = {v})",
                v.saturating_sub(1)
            ),
        ));
    }
    if anchors.is_empty() {
        return Err(bad("anchors", "is empty; the task needs at least one anchor"));
    }
    for (i, &a) in anchors.iter().enumerate() {
        if a >= v {
            return Err(bad(
                "anchors",
                format!(
                    "contains {a}, outside the vocabulary 0..={} (task.vocab_size = {v})",
                    v - 1
                ),
            ));
        }
        if (lo..=hi).contains(&a) {
            return Err(bad(
                "anchors",
                format!("contains {a}, inside the filler range {lo}..={hi}, so a filler could equal an anchor"),
            ));
        }
        if anchors[..i].contains(&a) {
            return Err(bad("anchors", format!("lists {a} twice; anchors must be distinct")));
        }
    }
    Ok(())
}

/// One shift per anchor.
fn check_shift_count(field: &str, shifts: &[i32], anchors: &[u32]) -> Result<(), TaskError> {
    if shifts.len() == anchors.len() {
        return Ok(());
    }
    Err(bad(
        field,
        format!(
            "has {} entries but task.anchors has {}; give one shift per anchor",
            shifts.len(),
            anchors.len()
        ),
    ))
}

fn check_pair_of_anchors(field: &str, p: [u32; 2], anchors: &[u32]) -> Result<(), TaskError> {
    match p.iter().find(|a| !anchors.contains(a)) {
        Some(x) => Err(bad(
            field,
            format!(
                "has pair ({},{}), whose {x} is not in task.anchors {anchors:?}",
                p[0], p[1]
            ),
        )),
        None => Ok(()),
    }
}

/// Output of a generator before the final shuffle.
pub(crate) struct Generated {
    pub tokens: Vec<u32>,
    pub labels: Vec<u32>,
    pub meta: Vec<SampleMeta>,
    pub groups: Vec<Group>,
}

/// Groups in order pair-major (pair order of `pair_shifts`), train before test. Per sample:
/// p uniform in 0..=L-3, then the key uniform among filler values obeying the split rule
/// (rejection), then fillers left to right.
pub(crate) fn generate(spec: &PairTaskSpec, rng: &mut DataRng) -> Generated {
    let l = spec.seq_len;
    let (lo, hi) = spec.filler;
    let weights: Vec<u64> = spec
        .pair_shifts
        .iter()
        .flat_map(|_| [u64::from(spec.weights.0), u64::from(spec.weights.1)])
        .collect();
    let sizes = allocate(spec.n_samples, &weights);
    let mut out = Generated {
        tokens: Vec::with_capacity(spec.n_samples * l),
        labels: Vec::with_capacity(spec.n_samples),
        meta: Vec::with_capacity(spec.n_samples),
        groups: Vec::with_capacity(sizes.len()),
    };
    for (g, &size) in sizes.iter().enumerate() {
        let (pair, shift) = spec.pair_shifts[g / 2];
        let split = if g % 2 == 0 { Split::Train } else { Split::Test };
        let trained = split == Split::Train && pair != spec.unseen_pair;
        out.groups.push(Group {
            pair: Some(pair),
            split,
            size,
            trained,
        });
        for _ in 0..size {
            let p = rng.uniform(0, (l - 3) as u32) as usize;
            let key = loop {
                let k = rng.uniform(lo, hi);
                if (k as usize % l == p) == (split == Split::Test) {
                    break k;
                }
            };
            for j in 0..l {
                let t = match j {
                    _ if j == p => key,
                    _ if j == p + 1 => pair[0],
                    _ if j == p + 2 => pair[1],
                    _ => rng.uniform(lo, hi),
                };
                out.tokens.push(t);
            }
            out.labels.push((i64::from(key) + i64::from(shift)) as u32);
            out.meta.push(SampleMeta {
                group: g as u32,
                key: Some(key),
                position: Some(p as u32),
            });
        }
    }
    out
}
