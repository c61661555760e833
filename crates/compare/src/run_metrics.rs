//! A run's metrics.csv read back into replica summaries, for a run without summary.json.
//! The trainer now writes the summary with every checkpoint, but binaries before 2026-11-26
//! wrote it only when a session ended: a run of theirs killed mid-session (not stopped by
//! its time limit) has its evaluations in metrics.csv and nothing else that says what it
//! measured. Columns (trainer::metrics): epoch, step, replica, seed, gamma, lr_peak, lr,
//! train_loss, status, then one per metric, "nan" where a metric had no value. They are
//! found by name: epoch, replica and status, and the metrics are the columns after status.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::{CompareError, read};

/// One replica's evaluations so far: the last row and the maximum of each metric.
struct Replica {
    epoch: u64,
    status: String,
    last: Vec<f64>,
    max: Vec<f64>,
}

/// The replicas of metrics.csv in replica order, each as summary.json's "replicas" entries
/// are: status, epochs (of the last evaluation), final_scores, max_scores. A maximum skips
/// nan, as the trainer's summary does; a metric never evaluated is null (NaN when read).
pub(crate) fn replicas(path: &Path) -> Result<Vec<Value>, CompareError> {
    let text = read(path)?;
    // The trainer ends every append with a newline: a last line without one was being
    // written when the run was killed, and is left out.
    let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
    let mut lines = complete.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name);
    let (Some(epoch_at), Some(replica_at), Some(status_at)) = (at("epoch"), at("replica"), at("status")) else {
        return Err(CompareError::format(
            path,
            "the header must name the columns epoch, replica and status, then the metrics",
        ));
    };
    let metrics = &header[status_at + 1..];
    let mut by: BTreeMap<usize, Replica> = BTreeMap::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = |what: &str| CompareError::format(path, format!("row {}: {what}", n + 2));
        if f.len() != header.len() {
            return Err(bad(&format!("{} fields, the header has {}", f.len(), header.len())));
        }
        let (Ok(epoch), Ok(replica)) = (f[epoch_at].parse::<u64>(), f[replica_at].parse::<usize>()) else {
            return Err(bad("epoch and replica must be whole numbers"));
        };
        let values = f[status_at + 1..]
            .iter()
            .map(|v| v.parse::<f64>().map_err(|_| bad(&format!("{v} is not a number"))))
            .collect::<Result<Vec<f64>, _>>()?;
        let r = by.entry(replica).or_insert_with(|| Replica {
            epoch,
            status: String::new(),
            last: Vec::new(),
            max: vec![f64::NEG_INFINITY; metrics.len()],
        });
        for (m, v) in r.max.iter_mut().zip(&values) {
            if *v > *m {
                *m = *v;
            }
        }
        (r.epoch, r.status, r.last) = (epoch, f[status_at].to_string(), values);
    }
    if by.keys().copied().ne(0..by.len()) {
        return Err(CompareError::format(
            path,
            "the replicas must be numbered 0, 1, .. without gaps",
        ));
    }
    let scores = |v: &[f64]| -> Map<String, Value> {
        metrics
            .iter()
            .zip(v)
            // serde_json writes a non-finite number as null, which reads back as NaN.
            .map(|(k, x)| (k.to_string(), json!(x)))
            .collect()
    };
    Ok(by
        .into_values()
        .map(|r| json!({"status": r.status, "epochs": r.epoch, "final_scores": scores(&r.last), "max_scores": scores(&r.max)}))
        .collect())
}
