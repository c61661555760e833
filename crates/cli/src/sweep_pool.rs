//! Training a sweep's shape groups on one or several devices: one worker thread per device
//! takes the next group from a shared queue, trains its cells as replicas of one run
//! (`runs/<group>/`, checkpointed, with a manifest.json segment per process that trained it)
//! and copies each replica's results into its cell directory. A time limit or `--fail-fast`
//! stops the queue: no new group starts, the groups in flight finish (a time-limited one at
//! its last checkpoint).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use msym_config::Cell;
use trainer::{DirMode, RunOptions};

use crate::backend::{self, DeviceArg};
use crate::error::CliError;

/// Why the queue stopped before it was empty.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    TimeLimit,
    /// --fail-fast: the sentence naming the diverged cell.
    Diverged(String),
}

/// What stopped the sweep, shared by the workers (the first reason wins).
#[derive(Default)]
struct State {
    stop: Option<Stop>,
    error: Option<CliError>,
}

/// Trains `groups` on `devices`; returns why it stopped early, if it did.
pub fn run(
    out: &Path,
    groups: Vec<Vec<&Cell>>,
    devices: &[DeviceArg],
    limit: Option<Duration>,
    fail_fast: bool,
    snapshots: &[usize],
) -> Result<Option<Stop>, CliError> {
    let started = Instant::now();
    let queue = Mutex::new(VecDeque::from(groups));
    let state = Mutex::new(State::default());
    let worker = |device: DeviceArg| loop {
        if state.lock().is_ok_and(|s| s.stop.is_some() || s.error.is_some()) {
            return;
        }
        let Some(group) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
            return;
        };
        let left = limit.map(|l| l.saturating_sub(started.elapsed()));
        let result = if left.is_some_and(|l| l.is_zero()) {
            Ok(Some(Stop::TimeLimit))
        } else {
            train_group(out, &group, device, left, fail_fast, snapshots)
        };
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(None) => {}
            Ok(Some(stop)) => {
                s.stop.get_or_insert(stop);
            }
            Err(e) => {
                s.error.get_or_insert(e);
            }
        }
    };
    let worker = &worker;
    backend::capturing_panics(|| {
        std::thread::scope(|scope| {
            for &device in devices {
                scope.spawn(move || worker(device));
            }
        })
    });
    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
    match state.error {
        Some(e) => Err(e),
        None => Ok(state.stop),
    }
}

/// The run directory of a group: named by its cells, so a rerun finds it again.
pub fn run_dir(out: &Path, group: &[&Cell]) -> PathBuf {
    let ids: Vec<&str> = group.iter().map(|cell| cell.id.as_str()).collect();
    out.join("runs")
        .join(&blake3::hash(ids.join(",").as_bytes()).to_hex()[..12])
}

/// Epochs a group's run has behind it, as its summary.json says (rewritten with every
/// checkpoint, and read as `msym progress` reads it); 0 where it has none (not started).
pub fn epochs_done(run_dir: &Path) -> usize {
    trainer::run::read_summary_file(run_dir).map_or(0, |s| s.epochs_done)
}

/// Trains one shape group on `device` and splits its results into the cell directories.
fn train_group(
    out: &Path,
    group: &[&Cell],
    device: DeviceArg,
    left: Option<Duration>,
    fail_fast: bool,
    snapshots: &[usize],
) -> Result<Option<Stop>, CliError> {
    let configs: Vec<_> = group.iter().map(|cell| cell.config.clone()).collect();
    let ids: Vec<&str> = group.iter().map(|cell| cell.id.as_str()).collect();
    let run_dir = run_dir(out, group);
    let mode = if run_dir.join("cells.json").exists() {
        DirMode::Resume
    } else {
        DirMode::New
    };
    let opts = RunOptions {
        out: run_dir.clone(),
        mode,
        time_limit: left,
        snapshot_epochs: snapshots.to_vec(),
        ..RunOptions::default()
    };
    println!(
        "training {} cell(s) as replicas on {device}: {}",
        group.len(),
        ids.join(" ")
    );
    let (epochs_from, started) = (epochs_done(&run_dir), Instant::now());
    let outcome = backend::train_caught(device, &configs, &opts, &mut |_| {})?.map_err(CliError::input)?;
    let segment = crate::manifest::Segment {
        device,
        group,
        epochs_from,
        outcome: &outcome,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    crate::manifest::add_segment(&run_dir, &segment)?;
    if !outcome.finished {
        return Ok(Some(Stop::TimeLimit));
    }
    split(&run_dir, out, group, &outcome)?;
    if let Some(note) = crate::train_cmd::together_note(&outcome.summaries) {
        println!("{note}");
    }
    let diverged = outcome
        .summaries
        .iter()
        .zip(group)
        .find(|(s, _)| s.status == "diverged");
    match diverged {
        Some((s, cell)) if fail_fast => {
            let how = s.divergence.as_ref().map_or("diverged".to_string(), |d| d.to_string());
            Ok(Some(Stop::Diverged(format!(
                "cell {} ({}) {how}",
                cell.id,
                cell.sets.join(";")
            ))))
        }
        _ => Ok(None),
    }
}

/// Copies each replica's results of a finished group run into its cell directory.
fn split(run_dir: &Path, out: &Path, group: &[&Cell], outcome: &trainer::Outcome) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::failed(e.to_string());
    let metrics = std::fs::read_to_string(run_dir.join("metrics.csv")).map_err(io)?;
    let mut lines = metrics.lines();
    let header = lines.next().unwrap_or_default();
    for (r, cell) in group.iter().enumerate() {
        let dir = out.join("cells").join(&cell.id);
        std::fs::create_dir_all(&dir).map_err(io)?;
        let rows: Vec<&str> = lines
            .clone()
            .filter(|l| l.split(',').nth(2) == Some(&r.to_string()))
            .collect();
        let csv = format!("{header}\n{}\n", rows.join("\n"));
        msym_config::write_atomic(&dir.join("metrics.csv"), csv.as_bytes()).map_err(io)?;
        let resolved = msym_config::to_resolved_toml(&cell.config, Path::new("sweep.json"), &cell.sets);
        msym_config::write_atomic(&dir.join("config.resolved.toml"), resolved.as_bytes()).map_err(io)?;
        let summary = serde_json::json!({"id": cell.id, "sets": cell.sets, "depth": cell.config.model.depth(), "gamma": cell.config.init.gamma, "run": run_dir.file_name().map(|n| n.to_string_lossy().into_owned()), "summary": outcome.summaries[r]});
        // summary.json last: its presence marks the cell finished.
        let text = serde_json::to_string_pretty(&summary).expect("json");
        msym_config::write_atomic(&dir.join("summary.json"), text.as_bytes()).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_done_reads_the_summary_and_is_zero_without_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(epochs_done(dir.path()), 0);
        // The fields of a real summary.json (results/fig3), replicas left out.
        let state = r#"{"finished":false,"epochs_done":174,"steps_per_epoch":124,"train_seconds":457.1,"replicas":[]}"#;
        std::fs::write(dir.path().join("summary.json"), state).unwrap();
        assert_eq!(epochs_done(dir.path()), 174);
        std::fs::write(dir.path().join("summary.json"), "{\"epo").unwrap();
        assert_eq!(epochs_done(dir.path()), 0);
    }
}
