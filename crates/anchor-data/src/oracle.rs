//! The label oracle: reads a token sequence the way a person would (find the anchors, the
//! key before them, look the pair up in the task's shift table) and says what the label
//! must be and why. It shares no code with the generators, so tests and `msym verify labels`
//! can check every generated label against it.

use crate::dataset::Split;
use crate::task::{CompositeTask, FullSymmetryTask, INVERSE_N_KEYS, INVERSE_SET_SIZE, InverseMatchingTask, TaskConfig};

/// What the oracle read off a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleAnswer {
    pub label: u32,
    pub split: Split,
    pub pair: Option<[u32; 2]>,
    pub key: Option<u32>,
    pub position: Option<u32>,
    /// How the label follows from the tokens, e.g. "key 57 + shift(1) +5 + shift(2) +1 = 63".
    pub derivation: String,
}

/// A sequence that does not have the task's structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OracleError(pub String);

fn fail<T>(msg: String) -> Result<T, OracleError> {
    Err(OracleError(msg))
}

/// Reads the label of `tokens` under `task`.
pub fn oracle(task: &TaskConfig, tokens: &[u32]) -> Result<OracleAnswer, OracleError> {
    match task {
        TaskConfig::Composite(t) => composite(t, tokens),
        TaskConfig::FullSymmetry(t) => full_symmetry(t, tokens),
        TaskConfig::InverseMatching(t) => inverse(t, tokens),
    }
}

/// Finds the two adjacent anchors and the key right before them.
fn locate(anchors: &[u32], tokens: &[u32]) -> Result<(u32, u32, [u32; 2]), OracleError> {
    let at: Vec<usize> = (0..tokens.len()).filter(|&i| anchors.contains(&tokens[i])).collect();
    match at[..] {
        [i, j] if j == i + 1 && i >= 1 => Ok(((i - 1) as u32, tokens[i - 1], [tokens[i], tokens[j]])),
        _ => fail(format!(
            "expected two adjacent anchors after a key, found anchors at positions {at:?} in {tokens:?}"
        )),
    }
}

fn split_of(key: u32, position: u32, seq_len: usize) -> Split {
    if key as usize % seq_len == position as usize {
        Split::Test
    } else {
        Split::Train
    }
}

fn shift_of(anchors: &[u32], shifts: &[i32], a: u32) -> i32 {
    shifts[anchors
        .iter()
        .position(|&x| x == a)
        .expect("located anchors are anchors")]
}

fn add(key: u32, shift: i64) -> Result<u32, OracleError> {
    u32::try_from(i64::from(key) + shift).or_else(|_| fail(format!("label {key}{shift:+} is negative")))
}

fn composite(t: &CompositeTask, tokens: &[u32]) -> Result<OracleAnswer, OracleError> {
    let (p, key, [a, b]) = locate(&t.anchors, tokens)?;
    let (label, derivation) = match t.pair_overrides.iter().find(|o| o.pair == [a, b]) {
        Some(o) => {
            let composed =
                i64::from(shift_of(&t.anchors, &t.shifts, a)) + i64::from(shift_of(&t.anchors, &t.shifts, b));
            let label = add(key, o.shift.into())?;
            let d = format!(
                "key {key} {:+} = {label} (rule of pair {a}{b}; composing would give {})",
                o.shift,
                i64::from(key) + composed
            );
            (label, d)
        }
        None => {
            let (sa, sb) = (shift_of(&t.anchors, &t.shifts, a), shift_of(&t.anchors, &t.shifts, b));
            let label = add(key, i64::from(sa) + i64::from(sb))?;
            (
                label,
                format!("key {key} + shift({a}) {sa:+} + shift({b}) {sb:+} = {label}"),
            )
        }
    };
    Ok(OracleAnswer {
        label,
        split: split_of(key, p, t.seq_len),
        pair: Some([a, b]),
        key: Some(key),
        position: Some(p),
        derivation,
    })
}

fn full_symmetry(t: &FullSymmetryTask, tokens: &[u32]) -> Result<OracleAnswer, OracleError> {
    let (p, key, [a, b]) = locate(&t.anchors, tokens)?;
    let (set, shifts) = if t.pairs_set1.contains(&[a, b]) {
        (1, &t.shifts_set1)
    } else if t.pairs_set2.contains(&[a, b]) {
        (2, &t.shifts_set2)
    } else {
        return fail(format!("pair ({a},{b}) belongs to neither pair set"));
    };
    let (sa, sb) = (shift_of(&t.anchors, shifts, a), shift_of(&t.anchors, shifts, b));
    let label = add(key, i64::from(sa) + i64::from(sb))?;
    let derivation = format!("set {set}: key {key} + shift({a}) {sa:+} + shift({b}) {sb:+} = {label}");
    Ok(OracleAnswer {
        label,
        split: split_of(key, p, t.seq_len),
        pair: Some([a, b]),
        key: Some(key),
        position: Some(p),
        derivation,
    })
}

fn inverse(t: &InverseMatchingTask, tokens: &[u32]) -> Result<OracleAnswer, OracleError> {
    if tokens.len() != t.seq_len() {
        return fail(format!("expected {} tokens, found {}", t.seq_len(), tokens.len()));
    }
    let block = INVERSE_SET_SIZE + 1;
    let keys: Vec<&[u32]> = (0..INVERSE_N_KEYS)
        .map(|k| &tokens[k * block..k * block + INVERSE_SET_SIZE])
        .collect();
    let mut set = keys[0].to_vec();
    set.sort_unstable();
    set.dedup();
    if set.len() != INVERSE_SET_SIZE {
        return fail(format!(
            "the first key sequence {:?} does not hold 3 distinct tokens",
            keys[0]
        ));
    }
    for (k, key) in keys.iter().enumerate() {
        let mut sorted = key.to_vec();
        sorted.sort_unstable();
        if sorted != set || keys[..k].contains(key) {
            return fail(format!(
                "key sequence {k} {key:?} is not a new ordering of the set {set:?}"
            ));
        }
    }
    let body = INVERSE_N_KEYS * block + t.filler_len;
    let others = (0..body).filter(|i| i % block == INVERSE_SET_SIZE || *i >= INVERSE_N_KEYS * block);
    if let Some(i) = others.clone().find(|&i| set.contains(&tokens[i])) {
        return fail(format!(
            "separator or filler at position {i} is the set token {}",
            tokens[i]
        ));
    }
    let query = &tokens[body..];
    let reversed: Vec<u32> = query.iter().rev().copied().collect();
    let matches: Vec<usize> = (0..INVERSE_N_KEYS)
        .filter(|&k| keys[k] == reversed.as_slice())
        .collect();
    let [label] = matches[..] else {
        return fail(format!(
            "query {query:?} reversed matches key sequences {matches:?}; expected exactly one"
        ));
    };
    let ood = tokens.iter().all(|x| (t.ood_min..=t.ood_max).contains(x));
    let split = if ood {
        Split::Ood
    } else if crate::inverse::one_residue_class(&set) {
        Split::Test
    } else {
        Split::Train
    };
    let derivation = format!("query {query:?} reversed is {reversed:?} = key sequence {label}");
    Ok(OracleAnswer {
        label: label as u32,
        split,
        pair: None,
        key: None,
        position: None,
        derivation,
    })
}
