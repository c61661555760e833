//! The sequences the interventions run on: per anchor pair, up to n samples of the pair
//! (its test group first, then its train group, in dataset order; the paper uses 480 a
//! pair without saying which), their key and anchor positions, the same sequence carrying
//! the unseen pair's anchors, and the batched forward passes that read argmax outputs.

use anchor_data::{Dataset, Split};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::error::CliError;

/// The samples of one anchor pair.
#[derive(Debug, Clone)]
pub struct PairSamples {
    pub pair: [u32; 2],
    /// Whether the trainer saw this pair (its train group is trained).
    pub trained: bool,
    /// Dataset indices: test group first, then train, at most n.
    pub indices: Vec<usize>,
}

/// Every anchor pair of the task in the order of its groups, with up to `n` samples each.
pub fn per_pair(ds: &Dataset, n: usize) -> Result<Vec<PairSamples>, CliError> {
    let mut pairs: Vec<[u32; 2]> = Vec::new();
    for g in &ds.groups {
        match g.pair {
            Some(p) if !pairs.contains(&p) => pairs.push(p),
            Some(_) => {}
            None => {
                return Err(CliError::input(format!(
                    "the {} task has no anchor pairs; the blocking and substitution analyses need a pair task (composite or full_symmetry)",
                    ds.task.name()
                )));
            }
        }
    }
    Ok(pairs
        .into_iter()
        .map(|pair| {
            let of = |split: Split| {
                ds.groups
                    .iter()
                    .position(|g| g.pair == Some(pair) && g.split == split)
                    .map(|g| ds.group_indices(g))
                    .unwrap_or_default()
            };
            let mut indices = of(Split::Test);
            indices.extend(of(Split::Train));
            indices.truncate(n);
            PairSamples {
                pair,
                trained: ds.groups.iter().any(|g| g.pair == Some(pair) && g.trained),
                indices,
            }
        })
        .collect())
}

/// The key position p of a pair-task sample (anchors at p + 1 and p + 2).
pub fn key_position(ds: &Dataset, i: usize) -> usize {
    ds.sample(i).position.expect("pair tasks record the key position") as usize
}

/// Sample i with its anchors replaced by `pair` (same key, same fillers, same positions).
pub fn with_anchors(ds: &Dataset, i: usize, pair: [u32; 2]) -> Vec<u32> {
    let mut t = ds.sample(i).tokens.to_vec();
    let p = key_position(ds, i);
    t[p + 1] = pair[0];
    t[p + 2] = pair[1];
    t
}

/// Sequences of equal length as one replica's batch: [1, B, L].
pub fn token_batch<B: Backend>(seqs: &[Vec<u32>], device: &B::Device) -> Tensor<B, 3, Int> {
    let l = seqs.first().map_or(0, Vec::len);
    let flat: Vec<i64> = seqs.iter().flatten().map(|&t| i64::from(t)).collect();
    Tensor::from_data(TensorData::new(flat, [1, seqs.len(), l]), device)
}

/// The argmax token of every row of one replica's logits [1, B, V] (or [1, B, L, V]
/// flattened by the caller to [1, B * L, V]).
pub fn argmax<B: Backend>(logits: Tensor<B, 3>) -> Vec<u32> {
    let [r, b, _] = logits.dims();
    logits
        .argmax(2)
        .reshape([r * b])
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .expect("int data")
        .into_iter()
        .map(|v| v as u32)
        .collect()
}
