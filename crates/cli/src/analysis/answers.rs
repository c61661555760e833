//! What a model answers on each anchor pair, as offsets from the key (output - key). A
//! model that scores near 0 on both the composite and the symmetric answer of the unseen
//! pair (the late drift of results/fig3-choices) answers something else; this says what,
//! by naming every offset after the rules that give it:
//! - `label`: the pair's own label (for the unseen pair, the composite answer);
//! - `symmetric`: the label of the reversed pair (the symmetric answer);
//! - `rule of AB`: the label rule of another pair of the task;
//! - `anchor A alone`: the shift of one anchor applied once (composite task).

use std::collections::BTreeMap;

use anchor_data::{Dataset, TaskConfig};
use burn::tensor::backend::Backend;
use models::Model;

use crate::analysis::sequences::{PairSamples, argmax, token_batch};

/// How often one offset was answered on one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRow {
    pub pair: [u32; 2],
    pub trained: bool,
    /// Sequences of the pair that were scored.
    pub n: usize,
    /// output - key.
    pub offset: i64,
    pub count: usize,
    /// The rules that give this offset (empty: none of the task's).
    pub rules: Vec<String>,
}

/// The rules of `ds` that give `offset` on `pair`, in the order of the module doc.
pub fn rules_for(ds: &Dataset, pair: [u32; 2], offset: i64) -> Vec<String> {
    let shift = |p: [u32; 2]| ds.pair_shift(p).map(i64::from);
    let mut rules = Vec::new();
    if shift(pair) == Some(offset) {
        rules.push("label".to_string());
    }
    let reversed = [pair[1], pair[0]];
    if reversed != pair && shift(reversed) == Some(offset) {
        rules.push("symmetric".to_string());
    }
    for &(q, s) in &ds.pair_shifts {
        if q != pair && q != reversed && i64::from(s) == offset {
            rules.push(format!("rule of {}{}", q[0], q[1]));
        }
    }
    if let TaskConfig::Composite(c) = &ds.task {
        for (a, s) in c.anchors.iter().zip(&c.shifts) {
            if i64::from(*s) == offset {
                rules.push(format!("anchor {a} alone"));
            }
        }
    }
    rules
}

/// The offsets answered on one pair's samples, most frequent first (ties: smaller offset).
pub fn answers_pair<B: Backend>(
    model: &Model<B>,
    ds: &Dataset,
    samples: &PairSamples,
    device: &B::Device,
) -> Vec<AnswerRow> {
    let seqs: Vec<Vec<u32>> = samples.indices.iter().map(|&i| ds.sample(i).tokens.to_vec()).collect();
    // [1, B, V]: one replica, the last position's logits.
    let outputs = argmax(model.forward(token_batch::<B>(&seqs, device)));
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for (&i, &out) in samples.indices.iter().zip(&outputs) {
        let key = ds.sample(i).key.expect("pair tasks record the key");
        *counts.entry(i64::from(out) - i64::from(key)).or_default() += 1;
    }
    let mut rows: Vec<AnswerRow> = counts
        .into_iter()
        .map(|(offset, count)| AnswerRow {
            pair: samples.pair,
            trained: samples.trained,
            n: seqs.len(),
            offset,
            count,
            rules: rules_for(ds, samples.pair, offset),
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.offset.cmp(&b.offset)));
    rows
}
