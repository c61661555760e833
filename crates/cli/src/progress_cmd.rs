//! `msym progress DIR..`: how far each run of a sweep or reproduce directory (its
//! `runs/<id>/`), or each run directory, has trained, and what is left at the pace measured
//! so far, read from the runs' summary.json. For planning the next time-boxed session of a
//! sweep grown over several (which run needs how many minutes, and how many GPUs at once).

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use crate::error::CliError;
use trainer::rundir;

#[derive(Args)]
pub struct ProgressCommand {
    /// A sweep or reproduce directory (its runs/<id>/), or run directories.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

/// One run as its summary.json and cells.json tell it.
#[derive(Debug, PartialEq)]
struct RunProgress {
    name: String,
    replicas: usize,
    done: u64,
    planned: u64,
    finished: bool,
    /// Training time of all its sessions (evaluation and checkpoints included).
    seconds: f64,
}

impl RunProgress {
    fn seconds_per_epoch(&self) -> Option<f64> {
        (self.done > 0).then(|| self.seconds / self.done as f64)
    }

    /// Seconds left at the pace so far (None before the first epoch).
    fn seconds_left(&self) -> Option<f64> {
        if self.finished {
            return Some(0.0);
        }
        self.seconds_per_epoch()
            .map(|s| s * self.planned.saturating_sub(self.done) as f64)
    }
}

fn read_run(dir: &Path, name: String) -> Result<RunProgress, CliError> {
    let summary = trainer::run::read_summary_file(dir).map_err(CliError::input)?;
    // The planned epochs: the configs' own, read loosely (a run of an older schema still
    // says how long it was meant to train).
    let path = dir.join(rundir::CELLS);
    let cells: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| CliError::input(format!("cannot read {} as JSON", path.display())))?;
    let planned = cells[0]["train"]["epochs"]
        .as_u64()
        .ok_or_else(|| CliError::input(format!("{}: its first config has no train.epochs", path.display())))?;
    Ok(RunProgress {
        name,
        replicas: summary.replicas.len(),
        done: summary.epochs_done as u64,
        planned,
        finished: summary.finished,
        seconds: summary.train_seconds,
    })
}

/// A run directory: what `msym train` writes first and rewrites with every checkpoint.
fn is_run(dir: &Path) -> bool {
    dir.join(rundir::SUMMARY).is_file() && dir.join(rundir::CELLS).is_file()
}

/// The runs of DIR: DIR itself when it is a run, else its runs/<id>/ in name order.
fn runs_of(dir: &Path) -> Result<Vec<RunProgress>, CliError> {
    if is_run(dir) {
        let name = dir.file_name().map_or(".".into(), |n| n.to_string_lossy().into_owned());
        return Ok(vec![read_run(dir, name)?]);
    }
    let runs = dir.join("runs");
    let mut ids: Vec<PathBuf> = std::fs::read_dir(&runs)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    ids.retain(|p| is_run(p));
    ids.sort();
    if ids.is_empty() {
        return Err(CliError::input(format!(
            "{} holds no run: expected a run directory (summary.json and cells.json) or a sweep directory with runs/<id>/",
            dir.display()
        )));
    }
    ids.iter()
        .map(|p| {
            read_run(
                p,
                format!("runs/{}", p.file_name().unwrap_or_default().to_string_lossy()),
            )
        })
        .collect()
}

/// For a sweep directory with a plan (sweep.json): how many planned cells are in no run yet,
/// and how many are planned, counted as `msym compare` counts them (its `pending`, beside
/// the final cells and those still training). None without a plan.
fn not_started(dir: &Path) -> Result<Option<(usize, usize)>, CliError> {
    if !dir.join("sweep.json").is_file() {
        return Ok(None);
    }
    let sets = msym_compare::read_results(dir).map_err(|e| CliError::input(e.to_string()))?;
    Ok(sets
        .first()
        .map(|s| (s.pending, s.cells.len() + s.in_progress.len() + s.pending)))
}

fn minutes(s: f64) -> String {
    format!("{:.1} min", s / 60.0)
}

/// The table of one directory and the totals of what is left.
fn report(dir: &Path, runs: &[RunProgress]) -> String {
    let finished = runs.iter().filter(|r| r.finished).count();
    let replicas: usize = runs.iter().map(|r| r.replicas).sum();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut s = format!(
        "{}: {} ({}), {finished} finished\n  {:<20} {:>8} {:>9} {:>8}  left\n",
        dir.display(),
        plural(runs.len(), "run"),
        plural(replicas, "replica"),
        "run",
        "replicas",
        "epoch",
        "s/epoch"
    );
    for r in runs {
        let left = match (r.finished, r.seconds_left()) {
            (true, _) => "finished".to_string(),
            (false, Some(x)) => minutes(x),
            (false, None) => "? (no epoch yet)".to_string(),
        };
        s.push_str(&format!(
            "  {:<20} {:>8} {:>9} {:>8}  {left}\n",
            r.name,
            r.replicas,
            format!("{}/{}", r.done, r.planned),
            r.seconds_per_epoch().map_or("?".into(), |x| format!("{x:.1}"))
        ));
    }
    let open: Vec<&RunProgress> = runs.iter().filter(|r| !r.finished).collect();
    if open.is_empty() {
        s.push_str("nothing left\n");
        return s;
    }
    let known: Vec<f64> = open.iter().filter_map(|r| r.seconds_left()).collect();
    let unknown = open.len() - known.len();
    s.push_str(&format!(
        "left: {}; {} one after another, {} with a GPU each",
        plural(open.len(), "run"),
        minutes(known.iter().sum()),
        minutes(known.iter().copied().fold(0.0, f64::max))
    ));
    if unknown > 0 {
        s.push_str(&format!(", plus {unknown} not yet started"));
    }
    s.push_str(" (at the pace so far, which includes evaluation and any GPU sharing)\n");
    s
}

pub fn run(c: ProgressCommand) -> Result<(), CliError> {
    for dir in &c.dirs {
        print!("{}", report(dir, &runs_of(dir)?));
        if let Some((n, planned)) = not_started(dir)? {
            // the sweep's other cells, which no time above includes
            println!("not started: {n} of the {planned} planned cells (sweep.json) are in no run yet");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{RunProgress, report};
    use std::path::Path;

    fn run(name: &str, done: u64, finished: bool, seconds: f64) -> RunProgress {
        RunProgress {
            name: name.into(),
            replicas: 3,
            done,
            planned: 210,
            finished,
            seconds,
        }
    }

    #[test]
    fn what_is_left_is_the_pace_so_far_times_the_epochs_to_go() {
        let runs = [
            run("a", 150, false, 600.0),  // 4 s an epoch, 60 to go: 4 min
            run("b", 200, false, 1200.0), // 6 s an epoch, 10 to go: 1 min
            run("c", 210, true, 1000.0),
            run("d", 0, false, 0.0),
        ];
        let text = report(Path::new("sweep"), &runs);
        assert!(text.starts_with("sweep: 4 runs (12 replicas), 1 finished\n"), "{text}");
        assert!(text.contains("150/210      4.0  4.0 min"), "{text}");
        assert!(text.contains("210/210      4.8  finished"), "{text}");
        assert!(text.contains("0/210        ?  ? (no epoch yet)"), "{text}");
        assert!(
            text.contains("left: 3 runs; 5.0 min one after another, 4.0 min with a GPU each, plus 1 not yet started"),
            "{text}"
        );
        let done = report(Path::new("x"), &[run("c", 210, true, 1.0)]);
        assert!(done.ends_with("nothing left\n"), "{done}");
    }
}
