//! metrics.csv (append-only, one row per replica per evaluation) and summary.json (final
//! value and maximum over evaluations of every metric, per replica, with its status).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::eval::Scores;
use crate::guard::Divergence;

/// Columns before the metrics.
pub const FIXED: [&str; 9] = [
    "epoch",
    "step",
    "replica",
    "seed",
    "gamma",
    "lr_peak",
    "lr",
    "train_loss",
    "status",
];

/// Metrics shown first (when present), then every other metric alphabetically.
const FIRST: [&str; 5] = [
    "composite_test",
    "symmetric_test",
    "composite_train",
    "symmetric_train",
    "seen_test",
];

/// Orders metric names: the headline metrics, then the rest.
pub fn metric_columns(scores: &Scores) -> Vec<String> {
    let mut cols: Vec<String> = FIRST
        .iter()
        .filter(|c| scores.contains_key(**c))
        .map(|c| c.to_string())
        .collect();
    cols.extend(scores.keys().filter(|k| !FIRST.contains(&k.as_str())).cloned());
    cols
}

/// One row of metrics.csv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub epoch: usize,
    pub step: usize,
    pub replica: usize,
    pub seed: u64,
    pub gamma: f64,
    pub lr_peak: f64,
    pub lr: f64,
    /// NaN before the first step (written as null in JSON).
    #[serde(deserialize_with = "nan_from_null")]
    pub train_loss: f64,
    pub status: String,
    #[serde(deserialize_with = "nan_map_from_null")]
    pub scores: Scores,
}

/// JSON has no NaN: serde_json writes it as null, and this reads null back as NaN.
pub(crate) fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn nan_map_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Scores, D::Error> {
    let m = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
}

fn fmt(v: f64) -> String {
    if v.is_nan() { "nan".into() } else { format!("{v}") }
}

impl Row {
    fn csv(&self, columns: &[String]) -> String {
        let mut f = vec![
            self.epoch.to_string(),
            self.step.to_string(),
            self.replica.to_string(),
            self.seed.to_string(),
            fmt(self.gamma),
            fmt(self.lr_peak),
            fmt(self.lr),
            fmt(self.train_loss),
            self.status.clone(),
        ];
        f.extend(
            columns
                .iter()
                .map(|c| self.scores.get(c).map_or(String::new(), |v| fmt(*v))),
        );
        f.join(",")
    }
}

/// Appends rows to `path`, writing the header first when the file is new; each call ends
/// with the file flushed and synced, so a kill loses at most the rows being written.
pub fn append(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    let Some(first) = rows.first() else { return Ok(()) };
    let columns = metric_columns(&first.scores);
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let mut text = String::new();
    if new {
        let mut header: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
        header.extend(columns.iter().cloned());
        text.push_str(&header.join(","));
        text.push('\n');
    }
    for r in rows {
        text.push_str(&r.csv(&columns));
        text.push('\n');
    }
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Keeps the header and the first `rows` data rows (used when resuming from a checkpoint
/// taken before later rows were written).
pub fn truncate(path: &Path, rows: usize) -> std::io::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    if rows == 0 {
        return std::fs::remove_file(path);
    }
    let text = std::fs::read_to_string(path)?;
    let kept: Vec<&str> = text.lines().take(rows + 1).collect();
    msym_config::write_atomic(path, (kept.join("\n") + "\n").as_bytes())
}

/// Per replica: its identity, status, and each metric's final value and maximum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaSummary {
    pub replica: usize,
    pub seed: u64,
    pub gamma: f64,
    pub lr_peak: f64,
    pub status: String,
    pub divergence: Option<Divergence>,
    pub epochs: usize,
    #[serde(deserialize_with = "nan_map_from_null")]
    pub final_scores: Scores,
    #[serde(deserialize_with = "nan_map_from_null")]
    pub max_scores: Scores,
    #[serde(deserialize_with = "nan_from_null")]
    pub final_train_loss: f64,
}

/// The step at which every replica of a run diverged, where there are several and all
/// diverged at that same step. Replicas of one run share no numbers, only their settings and
/// the batched step that computes them, so either the shared settings diverge or the step
/// failed at this size: on an H200 the plain Transformer at depth 7 and R = 36 trained NaN
/// while R = 24 and R = 1 did not (results/bench/NOTES.md).
pub fn diverged_together(summaries: &[ReplicaSummary]) -> Option<usize> {
    let steps: Vec<usize> = summaries
        .iter()
        .map(|s| s.divergence.as_ref().map(|d| d.step))
        .collect::<Option<_>>()?;
    (steps.len() >= 2 && steps.iter().all(|&s| s == steps[0])).then(|| steps[0])
}

/// Builds the summary of each replica from all rows written so far.
pub fn summarize(rows: &[Row], divergence: &[Option<Divergence>]) -> Vec<ReplicaSummary> {
    let mut by: BTreeMap<usize, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by.entry(r.replica).or_default().push(r);
    }
    by.into_iter()
        .map(|(replica, rs)| {
            let last = rs.last().expect("at least one row");
            let mut max_scores = Scores::new();
            for r in &rs {
                for (k, v) in &r.scores {
                    let e = max_scores.entry(k.clone()).or_insert(f64::NEG_INFINITY);
                    if *v > *e {
                        *e = *v;
                    }
                }
            }
            ReplicaSummary {
                replica,
                seed: last.seed,
                gamma: last.gamma,
                lr_peak: last.lr_peak,
                status: last.status.clone(),
                divergence: divergence.get(replica).cloned().flatten(),
                epochs: last.epoch,
                final_scores: last.scores.clone(),
                max_scores,
                final_train_loss: last.train_loss,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(replica: usize, diverged_at: Option<usize>) -> ReplicaSummary {
        ReplicaSummary {
            replica,
            seed: replica as u64 + 1,
            gamma: 1.0,
            lr_peak: 2.5e-4,
            status: if diverged_at.is_some() { "diverged" } else { "finished" }.into(),
            divergence: diverged_at.map(|step| Divergence {
                step,
                loss: f64::NAN,
                lr: 1e-5,
                param: "embedding.weight".into(),
                grad_norm: f64::NAN,
            }),
            epochs: 1,
            final_scores: Scores::new(),
            max_scores: Scores::new(),
            final_train_loss: f64::NAN,
        }
    }

    #[test]
    fn only_every_replica_diverging_at_one_step_counts_as_together() {
        let run = |steps: &[Option<usize>]| {
            let s: Vec<_> = steps.iter().enumerate().map(|(r, d)| summary(r, *d)).collect();
            diverged_together(&s)
        };
        assert_eq!(run(&[Some(3), Some(3), Some(3)]), Some(3));
        assert_eq!(run(&[Some(3), Some(4), Some(3)]), None, "different steps");
        assert_eq!(run(&[Some(3), None, Some(3)]), None, "one replica trained on");
        assert_eq!(run(&[Some(3)]), None, "one replica: nothing to compare");
        assert_eq!(run(&[None, None]), None);
    }
}
