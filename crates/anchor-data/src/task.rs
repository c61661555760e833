//! Task configurations (SPEC section 1), with the project's defaults where the paper is
//! silent. Every field is explicit in the resolved config that a run writes.

use serde::{Deserialize, Serialize};

/// One of the three tasks of SPEC section 1, chosen by `kind` in the `[task]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskConfig {
    /// SPEC 1.1: the standard composite (anchor) function task.
    Composite(CompositeTask),
    /// SPEC 1.2 (Fig. 5a): two shift tables; a pair and its reverse share a label.
    FullSymmetry(FullSymmetryTask),
    /// SPEC 1.3 (Fig. 7): find the key sequence that the query reverses.
    InverseMatching(InverseMatchingTask),
}

/// A label rule that replaces the composition for one pair: label = key + `shift`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairOverride {
    pub pair: [u32; 2],
    pub shift: i32,
}

/// SPEC 1.1. Anchors sit at positions p+1, p+2 after the key at p.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompositeTask {
    /// Input length L (the 2024 paper used 9; the project default is 8).
    pub seq_len: usize,
    pub n_samples: usize,
    /// Token ids 0..vocab_size (201, as in the authors' code).
    pub vocab_size: u32,
    /// Fillers and keys are uniform in filler_min..=filler_max.
    pub filler_min: u32,
    pub filler_max: u32,
    pub anchors: Vec<u32>,
    /// shifts[i] belongs to anchors[i].
    pub shifts: Vec<i32>,
    /// Pair (3,4) is key - 6, not the composition key - 10.
    pub pair_overrides: Vec<PairOverride>,
    /// The pair withheld from training; scored against its composite and symmetric label.
    pub unseen_pair: [u32; 2],
    /// Relative sizes of each pair's train and test groups (9:1).
    pub train_weight: u32,
    pub test_weight: u32,
}

impl Default for CompositeTask {
    fn default() -> Self {
        Self {
            seq_len: 8,
            n_samples: 300_000,
            vocab_size: 201,
            filler_min: 20,
            filler_max: 99,
            anchors: vec![1, 2, 3, 4],
            shifts: vec![5, 1, -2, -8],
            pair_overrides: vec![PairOverride {
                pair: [3, 4],
                shift: -6,
            }],
            unseen_pair: [4, 3],
            train_weight: 9,
            test_weight: 1,
        }
    }
}

/// SPEC 1.2. Pairs of set 1 use `shifts_set1`, pairs of set 2 `shifts_set2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FullSymmetryTask {
    pub seq_len: usize,
    pub n_samples: usize,
    pub vocab_size: u32,
    pub filler_min: u32,
    pub filler_max: u32,
    pub anchors: Vec<u32>,
    pub shifts_set1: Vec<i32>,
    /// The paper gives no set-2 shift for anchor 4: the project default is +4.
    pub shifts_set2: Vec<i32>,
    pub pairs_set1: Vec<[u32; 2]>,
    pub pairs_set2: Vec<[u32; 2]>,
    pub unseen_pair: [u32; 2],
    pub train_weight: u32,
    pub test_weight: u32,
}

impl Default for FullSymmetryTask {
    fn default() -> Self {
        Self {
            seq_len: 8,
            n_samples: 300_000,
            vocab_size: 201,
            filler_min: 20,
            filler_max: 99,
            anchors: vec![0, 1, 2, 3, 4],
            shifts_set1: vec![2, 5, 1, -2, -8],
            shifts_set2: vec![-9, 6, -7, 3, 4],
            pairs_set1: pairs(&["01", "02", "10", "20", "14", "41", "23", "32", "34", "43"]),
            pairs_set2: pairs(&["03", "30", "04", "40", "12", "21", "13", "31", "24", "42"]),
            unseen_pair: [4, 3],
            train_weight: 9,
            test_weight: 1,
        }
    }
}

fn pairs(names: &[&str]) -> Vec<[u32; 2]> {
    names
        .iter()
        .map(|s| {
            let d: Vec<u32> = s.chars().map(|c| c.to_digit(10).expect("digit")).collect();
            [d[0], d[1]]
        })
        .collect()
}

/// SPEC 1.3. Five of the six orderings of a 3-token set, each followed by a separator,
/// then `filler_len` fillers, then one key sequence reversed; the label is its index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InverseMatchingTask {
    pub n_samples: usize,
    pub vocab_size: u32,
    /// In-distribution tokens (set, separators, fillers) are drawn from token_min..=token_max.
    pub token_min: u32,
    pub token_max: u32,
    /// Out-of-distribution samples draw every token from ood_min..=ood_max.
    pub ood_min: u32,
    pub ood_max: u32,
    /// 3 x depth in the paper, so that the convolution alone cannot reach back (6 at depth 2).
    pub filler_len: usize,
    /// Relative sizes of the train, test and OOD splits (80% / 10% / 10%).
    pub train_weight: u32,
    pub test_weight: u32,
    pub ood_weight: u32,
}

impl Default for InverseMatchingTask {
    fn default() -> Self {
        Self {
            n_samples: 100_000,
            vocab_size: 201,
            token_min: 20,
            token_max: 100,
            ood_min: 101,
            ood_max: 200,
            filler_len: 6,
            train_weight: 8,
            test_weight: 1,
            ood_weight: 1,
        }
    }
}

/// Set size of the inverse task: five key sequences need 3! - 1 orderings.
pub const INVERSE_SET_SIZE: usize = 3;
/// Number of key sequences (labels 0..5) of the inverse task.
pub const INVERSE_N_KEYS: usize = 5;

impl InverseMatchingTask {
    /// 5 x (3 + 1) + filler_len + 3 (29 at filler_len 6).
    pub fn seq_len(&self) -> usize {
        INVERSE_N_KEYS * (INVERSE_SET_SIZE + 1) + self.filler_len + INVERSE_SET_SIZE
    }
}

impl TaskConfig {
    pub fn name(&self) -> &'static str {
        match self {
            TaskConfig::Composite(_) => "composite",
            TaskConfig::FullSymmetry(_) => "full_symmetry",
            TaskConfig::InverseMatching(_) => "inverse_matching",
        }
    }

    pub fn seq_len(&self) -> usize {
        match self {
            TaskConfig::Composite(t) => t.seq_len,
            TaskConfig::FullSymmetry(t) => t.seq_len,
            TaskConfig::InverseMatching(t) => t.seq_len(),
        }
    }

    pub fn vocab_size(&self) -> u32 {
        match self {
            TaskConfig::Composite(t) => t.vocab_size,
            TaskConfig::FullSymmetry(t) => t.vocab_size,
            TaskConfig::InverseMatching(t) => t.vocab_size,
        }
    }

    pub fn n_samples(&self) -> usize {
        match self {
            TaskConfig::Composite(t) => t.n_samples,
            TaskConfig::FullSymmetry(t) => t.n_samples,
            TaskConfig::InverseMatching(t) => t.n_samples,
        }
    }

    /// Lines a user should see because the paper does not fix these values.
    pub fn assumptions(&self) -> Vec<String> {
        match self {
            TaskConfig::FullSymmetry(t) => {
                let i4 = t.anchors.iter().position(|&a| a == 4);
                match i4.and_then(|i| t.shifts_set2.get(i)) {
                    Some(s) => vec![format!(
                        "the paper gives no set-2 shift for anchor 4; this run uses {s:+} (task.shifts_set2)"
                    )],
                    None => vec![],
                }
            }
            _ => vec![],
        }
    }
}
