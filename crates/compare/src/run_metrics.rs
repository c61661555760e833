//! A run's metrics.csv read back into replica summaries, for a run without summary.json.
//! The trainer now writes the summary with every checkpoint, but binaries before 2026-11-26
//! wrote it only when a session ended: a run of theirs killed mid-session (not stopped by
//! its time limit) has its evaluations in metrics.csv and nothing else that says what it
//! measured. Columns (trainer::metrics): epoch, step, replica, seed, gamma, lr_peak, lr,
//! train_loss, status, then one per metric, "nan" where a metric had no value. They are
//! found by name: epoch, replica and status, and the metrics are the columns after status.

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

/// metrics.csv's rows: (replica, epoch, status, the metrics' values), in file order.
struct Rows {
    metrics: Vec<String>,
    rows: Vec<(usize, u64, String, Vec<f64>)>,
}

fn parse(path: &Path) -> Result<Rows, CompareError> {
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
    let mut rows = Vec::new();
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
        rows.push((replica, epoch, f[status_at].to_string(), values));
    }
    Ok(Rows {
        metrics: header[status_at + 1..].iter().map(|m| m.to_string()).collect(),
        rows,
    })
}

/// The rows of one replica folded into its last row and maxima (None without rows).
fn fold<'a>(rows: impl Iterator<Item = &'a (usize, u64, String, Vec<f64>)>, n_metrics: usize) -> Option<Replica> {
    let mut r: Option<Replica> = None;
    for (_, epoch, status, values) in rows {
        let r = r.get_or_insert_with(|| Replica {
            epoch: *epoch,
            status: String::new(),
            last: Vec::new(),
            max: vec![f64::NEG_INFINITY; n_metrics],
        });
        for (m, v) in r.max.iter_mut().zip(values) {
            if *v > *m {
                *m = *v;
            }
        }
        (r.epoch, r.status, r.last) = (*epoch, status.clone(), values.clone());
    }
    r
}

/// A replica as summary.json's "replicas" entries are: status, epochs (of the last
/// evaluation), final_scores, max_scores. A maximum skips nan, as the trainer's summary
/// does; a metric never evaluated is null (NaN when read).
fn summary(r: &Replica, metrics: &[String]) -> Value {
    let scores = |v: &[f64]| -> Map<String, Value> {
        metrics
            .iter()
            .zip(v)
            // serde_json writes a non-finite number as null, which reads back as NaN.
            .map(|(k, x)| (k.to_string(), json!(x)))
            .collect()
    };
    json!({"status": r.status, "epochs": r.epoch, "final_scores": scores(&r.last), "max_scores": scores(&r.max)})
}

/// The replicas of metrics.csv in replica order, as summary.json's "replicas" entries.
pub(crate) fn replicas(path: &Path) -> Result<Vec<Value>, CompareError> {
    let Rows { metrics, rows } = parse(path)?;
    let count = rows.iter().map(|r| r.0 + 1).max().unwrap_or(0);
    let folded: Vec<Option<Replica>> = (0..count)
        .map(|i| fold(rows.iter().filter(|r| r.0 == i), metrics.len()))
        .collect();
    if folded.iter().any(Option::is_none) {
        return Err(CompareError::format(
            path,
            "the replicas must be numbered 0, 1, .. without gaps",
        ));
    }
    Ok(folded.iter().flatten().map(|r| summary(r, &metrics)).collect())
}

/// One replica (None: every row, for a file of one cell) as it stood at `epoch`: its last
/// evaluation at or before it, and the maxima up to it. The status is the row's where the
/// replica diverged, else "finished" when it was evaluated at `epoch` and "training" when
/// its evaluations stop before (the summary's "epochs" says where).
pub(crate) fn replica_at(path: &Path, replica: Option<usize>, epoch: u64) -> Result<Value, CompareError> {
    let Rows { metrics, rows } = parse(path)?;
    let mine = rows.iter().filter(|r| replica.is_none_or(|i| r.0 == i) && r.1 <= epoch);
    let Some(mut r) = fold(mine, metrics.len()) else {
        return Err(CompareError::format(
            path,
            format!("no evaluation at or before epoch {epoch}"),
        ));
    };
    if r.status != "diverged" {
        r.status = if r.epoch == epoch { "finished" } else { "training" }.to_string();
    }
    Ok(summary(&r, &metrics))
}
