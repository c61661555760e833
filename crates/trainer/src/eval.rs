//! Evaluation: argmax at the last position on the evaluation set, scored per group; for the
//! unseen pair both against the composite label and against the symmetric one.

use std::collections::BTreeMap;

use anchor_data::Split;
use burn::tensor::backend::Backend;
use models::Model;

use crate::data::EvalSet;

/// Metric values of one replica at one evaluation, by column name.
pub type Scores = BTreeMap<String, f64>;

/// Predictions for the whole set, [R][M], computed in chunks of `chunk` samples.
fn predict<B: Backend>(model: &Model<B>, set: &EvalSet<B>, chunk: usize) -> Vec<Vec<u32>> {
    let [r, m, _] = set.tokens.dims();
    let mut preds = vec![Vec::with_capacity(m); r];
    let mut start = 0;
    while start < m {
        let len = chunk.min(m - start);
        let logits = model.forward(set.tokens.clone().narrow(1, start, len)); // [R, len, V]
        let arg = logits
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .expect("int data");
        for (i, a) in arg.into_iter().enumerate() {
            preds[i / len].push(a as u32);
        }
        start += len;
    }
    preds
}

fn mean(hits: impl Iterator<Item = bool>) -> f64 {
    let (n, k) = hits.fold((0usize, 0usize), |(n, k), h| (n + 1, k + usize::from(h)));
    if n == 0 { f64::NAN } else { k as f64 / n as f64 }
}

/// Scores every replica: `acc_<group>` for every group (e.g. acc_12_test, acc_ood), and for
/// anchor-pair tasks `composite_test`, `symmetric_test`, `composite_train`,
/// `symmetric_train` (the unseen pair) and `seen_test` (the seen pairs' test groups).
pub fn evaluate<B: Backend>(model: &Model<B>, set: &EvalSet<B>, chunk: usize) -> Vec<Scores> {
    let preds = predict(model, set, chunk);
    preds
        .iter()
        .enumerate()
        .map(|(r, p)| {
            let (labels, sym) = (&set.labels[r], &set.symmetric[r]);
            let mut s = Scores::new();
            let mut seen_test = Vec::new();
            for (group, start, len) in &set.spans {
                let range = *start..start + len;
                let acc = mean(range.clone().map(|i| p[i] == labels[i]));
                s.insert(format!("acc_{}", group.name().replace('/', "_")), acc);
                // The symmetric labels are set exactly on the unseen pair's samples.
                let unseen = *len > 0 && sym[*start] != u32::MAX;
                if unseen {
                    let which = group.split.as_str();
                    s.insert(format!("composite_{which}"), acc);
                    s.insert(
                        format!("symmetric_{which}"),
                        mean(range.clone().map(|i| p[i] == sym[i])),
                    );
                } else if group.pair.is_some() && group.split == Split::Test {
                    seen_test.extend(range.map(|i| p[i] == labels[i]));
                }
            }
            if !seen_test.is_empty() {
                s.insert("seen_test".into(), mean(seen_test.into_iter()));
            }
            s
        })
        .collect()
}
