//! Entry point: (task config, seed) -> Dataset.

use crate::dataset::{Dataset, SampleMeta};
use crate::error::TaskError;
use crate::inverse;
use crate::pair_task::{self, Generated, PairTaskSpec};
use crate::rng::DataRng;
use crate::task::TaskConfig;

/// Checks a task configuration without generating anything.
pub fn validate(task: &TaskConfig) -> Result<(), TaskError> {
    match task {
        TaskConfig::Composite(t) => PairTaskSpec::from_composite(t).map(drop),
        TaskConfig::FullSymmetry(t) => PairTaskSpec::from_full_symmetry(t).map(drop),
        TaskConfig::InverseMatching(t) => inverse::validate(t),
    }
}

/// Generates the whole dataset. Samples are produced group by group and then shuffled once
/// with the same stream, so any prefix mixes all groups (what `msym data sample` shows).
pub fn generate(task: &TaskConfig, seed: u64) -> Result<Dataset, TaskError> {
    let mut rng = DataRng::new(seed);
    let spec = match task {
        TaskConfig::Composite(t) => Some(PairTaskSpec::from_composite(t)?),
        TaskConfig::FullSymmetry(t) => Some(PairTaskSpec::from_full_symmetry(t)?),
        TaskConfig::InverseMatching(t) => {
            inverse::validate(t)?;
            None
        }
    };
    let generated = match (&spec, task) {
        (Some(spec), _) => pair_task::generate(spec, &mut rng),
        (None, TaskConfig::InverseMatching(t)) => inverse::generate(t, &mut rng),
        (None, _) => unreachable!("anchor-pair tasks always have a spec"),
    };
    let seq_len = task.seq_len();
    let Generated {
        tokens,
        labels,
        meta,
        groups,
    } = generated;
    let mut order: Vec<usize> = (0..labels.len()).collect();
    rng.shuffle(&mut order);
    let mut ds = Dataset {
        task: task.clone(),
        seed,
        seq_len,
        tokens: Vec::with_capacity(tokens.len()),
        labels: Vec::with_capacity(labels.len()),
        meta: Vec::<SampleMeta>::with_capacity(meta.len()),
        groups,
        pair_shifts: spec.as_ref().map_or_else(Vec::new, |s| s.pair_shifts.clone()),
        unseen_pair: spec.as_ref().map(|s| s.unseen_pair),
    };
    for &i in &order {
        ds.tokens.extend_from_slice(&tokens[i * seq_len..(i + 1) * seq_len]);
        ds.labels.push(labels[i]);
        ds.meta.push(meta[i]);
    }
    Ok(ds)
}
