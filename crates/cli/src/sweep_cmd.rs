//! `msym sweep CONFIG [--set k=v]... [--device D | --devices 0,1] [--out DIR]
//! [--time-limit MIN] [--fail-fast] [--force]`: the cells of the config's `[sweep]` (variants
//! x grid), each with its own directory (`cells/<id>/`: resolved config, metrics.csv,
//! summary.json). Cells that share a shape train together as replicas of one run
//! (sweep_pool.rs); finished cells are skipped on a rerun, and a sweep stopped by
//! --time-limit resumes where it was. At the end, `phase.csv` aggregates the finished cells
//! over seeds; diverged cells are recorded there, and --fail-fast stops at the first one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use msym_config::Cell;

use crate::args::ConfigArgs;
use crate::backend::{self, DeviceArg};
use crate::devices::Devices;
use crate::error::CliError;
use crate::phase;
use crate::schedule::Scheduling;
use crate::sweep_pool::{self, Stop};

#[derive(Args)]
pub struct SweepCommand {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    pub(crate) device: DeviceArg,
    /// Spread the shape groups over these devices of one host, one worker thread each:
    /// GPU indices (0,1), cuda:N, or cpu; an entry may repeat (0,0: two workers on GPU 0).
    #[arg(long, value_name = "LIST", conflicts_with = "device")]
    pub(crate) devices: Option<Devices>,
    /// Stop at the first diverged cell (after its group's run ends) and exit 1; by default
    /// the sweep carries on and phase.csv counts diverged seeds.
    #[arg(long)]
    pub(crate) fail_fast: bool,
    /// Sweep directory (default: sweeps/<config name>).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Continue the sweep in DIR (e.g. unpacked on another machine): same as --out DIR,
    /// but DIR must already hold a sweep.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "force"])]
    pub(crate) resume: Option<PathBuf>,
    /// Train only shard I of N (cells whose index mod N is I); `msym collect` merges shards.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<Shard>,
    /// Write a Slurm array script (one task per shard) to this file instead of training.
    #[arg(long, value_name = "FILE", requires = "shards")]
    pub(crate) emit_slurm: Option<PathBuf>,
    /// Number of shards (array tasks) for --emit-slurm.
    #[arg(long)]
    pub(crate) shards: Option<usize>,
    /// Stop cleanly (checkpointed) before this many minutes; rerun the command to go on.
    #[arg(long, value_name = "MINUTES")]
    pub(crate) time_limit: Option<f64>,
    /// Start over: delete what --out holds.
    #[arg(long)]
    pub(crate) force: bool,
    /// Also keep the checkpoints of these epochs, e.g. 60,210: each in the group run's
    /// snapshots/epoch-NNN/, which `msym analyze` reads (a run otherwise keeps only its
    /// latest checkpoint).
    #[arg(long, value_name = "EPOCHS", value_delimiter = ',')]
    pub(crate) snapshots: Vec<usize>,
    #[command(flatten)]
    pub(crate) scheduling: Scheduling,
}

const PLAN: &str = "sweep.json";

/// Whether a cell directory holds a completed cell (finished or diverged: both are final).
fn finished(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("summary.json")) else {
        return false;
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    matches!(v["summary"]["status"].as_str(), Some("finished" | "diverged"))
}

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a shard; write I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

pub fn run(c: SweepCommand) -> Result<(), CliError> {
    sweep(c).map(|_| ())
}

/// Runs the sweep; Ok(false) when `--time-limit` stopped it before every cell finished.
pub fn sweep(c: SweepCommand) -> Result<bool, CliError> {
    let devices = match &c.devices {
        Some(list) => {
            list.check_built()?;
            list.0.clone()
        }
        None => {
            backend::require_available(c.device)?;
            vec![c.device]
        }
    };
    let all = msym_config::expand(&c.config.path(), &c.config.set)?;
    let out = c
        .resume
        .clone()
        .or_else(|| c.out.clone())
        .unwrap_or_else(|| PathBuf::from("sweeps").join(c.config.stem()));
    if let Some(script) = &c.emit_slurm {
        return emit_slurm(&c, script, &out).map(|()| true);
    }
    if c.resume.is_some() && !out.join(PLAN).exists() {
        return Err(CliError::input(format!(
            "--resume {}: no sweep there (no {PLAN})",
            out.display()
        )));
    }
    let cells: Vec<Cell> = match c.shard {
        Some(s) => all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % s.count == s.index)
            .map(|(_, cell)| cell)
            .collect(),
        None => all,
    };
    c.scheduling.check(&cells)?;
    let plan: Vec<serde_json::Value> = cells
        .iter()
        .map(|cell| serde_json::json!({"id": cell.id, "sets": cell.sets}))
        .collect();
    let plan_text = serde_json::to_string_pretty(&plan).expect("json");
    if c.force && out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| CliError::failed(format!("cannot clear {}: {e}", out.display())))?;
    }
    match std::fs::read_to_string(out.join(PLAN)) {
        Ok(old) if old != plan_text => {
            return Err(CliError::input(format!(
                "{} holds a sweep of other cells (the config or --set changed); pass --force to start over, or use another --out",
                out.display()
            )));
        }
        _ => {}
    }
    std::fs::create_dir_all(out.join("cells"))
        .map_err(|e| CliError::failed(format!("cannot create {}: {e}", out.display())))?;
    msym_config::write_atomic(&out.join(PLAN), plan_text.as_bytes()).map_err(|e| CliError::failed(e.to_string()))?;

    let pending: Vec<&Cell> = cells
        .iter()
        .filter(|cell| !finished(&out.join("cells").join(&cell.id)))
        .collect();
    println!(
        "{} cells, {} finished, {} to train",
        cells.len(),
        cells.len() - pending.len(),
        pending.len()
    );
    let selected: Vec<&Cell> = pending
        .iter()
        .copied()
        .filter(|cell| c.scheduling.selects(cell))
        .collect();
    if selected.len() < pending.len() {
        println!("--only selects {} of them", selected.len());
    }
    let limit = c.time_limit.map(|m| Duration::from_secs_f64(m * 60.0));
    // Refused before any group trains, not when a group that cannot take them starts.
    for cell in &selected {
        trainer::check_snapshots(&c.snapshots, cell.config.train.epochs).map_err(CliError::input)?;
    }
    let groups = c.scheduling.cut(groups(&selected));
    let work: Vec<Work> = groups
        .iter()
        .map(|g| {
            let done = sweep_pool::epochs_done(&sweep_pool::run_dir(&out, g));
            Work {
                started: done > 0,
                left: cost(g, done),
            }
        })
        .collect();
    let order = queue_order(&work, limit.is_some(), c.scheduling.started_only);
    let waiting = work.len() - order.len();
    if c.scheduling.started_only {
        println!(
            "--started-only: {} of the {} runs to train have a checkpoint; the rest wait for a later call",
            order.len(),
            work.len()
        );
    }
    let groups: Vec<Vec<&Cell>> = order.iter().map(|&i| groups[i].clone()).collect();
    let stop = sweep_pool::run(&out, groups, &devices, limit, c.fail_fast, &c.snapshots)?;
    let rows = phase::write(&out).map_err(CliError::failed)?;
    println!("phase.csv: {rows} rows in {}", out.display());
    match stop {
        Some(Stop::TimeLimit) => {
            println!("time limit reached; rerun the same command to continue");
            return Ok(false);
        }
        Some(Stop::Diverged(what)) => {
            let left = cells
                .iter()
                .filter(|cell| !finished(&out.join("cells").join(&cell.id)))
                .count();
            return Err(CliError::failed(format!(
                "{what}; --fail-fast stopped the sweep with {left} cell(s) untrained (rerun without it to carry on)"
            )));
        }
        None => {}
    }
    // Every queued group finished, so what is left is what --started-only held back and
    // what --only left out.
    if waiting > 0 {
        println!("{waiting} run(s) wait for a call without --started-only");
        return Ok(false);
    }
    let left = pending.len() - selected.len();
    if left > 0 {
        println!(
            "{left} cell(s) outside --only are still to train; run without --only (or with other values) to train them"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Pending cells grouped by shape, in order of first appearance.
fn groups<'a>(cells: &[&'a Cell]) -> Vec<Vec<&'a Cell>> {
    let mut groups: Vec<Vec<&Cell>> = Vec::new();
    for &cell in cells {
        let shape = trainer::shape_of(&cell.config);
        match groups.iter_mut().find(|g| trainer::shape_of(&g[0].config) == shape) {
            Some(g) => g.push(cell),
            None => groups.push(vec![cell]),
        }
    }
    groups
}

/// A group's training work still to do, roughly: replicas x layers x epochs left after the
/// `done` of its checkpoint (the cells of one sweep share their task, so the steps per epoch
/// rarely differ).
fn cost(group: &[&Cell], done: usize) -> usize {
    let c = &group[0].config;
    group.len() * c.model.depth() * c.train.epochs.saturating_sub(done)
}

/// What the queue order needs to know of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Work {
    /// It has a checkpoint to resume from.
    started: bool,
    /// Its cost still to do.
    left: usize,
}

/// The order the workers take the groups in, as indices into `work`; with `started_only`,
/// the started groups alone.
/// Longest left first, so that no worker starts a long group when the others are done. Under
/// a time limit, the started groups go before the others: they finish in the call, where
/// fresh groups taken first would leave them, and the new ones, waiting on their checkpoints
/// for the next call (2026-11-27: two depth-3 runs at epochs 36 and 56 sat untouched through
/// a 9-minute call on three GPUs, while three fresh depth-4 runs started, so five unfinished
/// runs, 40 MB of checkpoints, came back instead of three).
fn queue_order(work: &[Work], limited: bool, started_only: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..work.len()).filter(|&i| work[i].started || !started_only).collect();
    order.sort_by_key(|&i| (!(limited && work[i].started), std::cmp::Reverse(work[i].left)));
    order
}

/// A Slurm array script: task i runs `msym sweep ... --shard i/N --out OUT/shard-i`;
/// `msym collect OUT/shard-*` merges them afterwards.
fn emit_slurm(c: &SweepCommand, script: &Path, out: &Path) -> Result<(), CliError> {
    let n = c.shards.unwrap_or(1).max(1);
    let sets: String = c.config.set.iter().map(|s| format!(" --set '{s}'")).collect();
    let device = match &c.devices {
        Some(list) => format!("--devices {list}"),
        None => format!("--device {}", c.device),
    };
    let fail_fast = if c.fail_fast { " --fail-fast" } else { "" };
    let limit = c.time_limit.map_or(String::new(), |m| format!(" --time-limit {m}"));
    let snapshots = if c.snapshots.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = c.snapshots.iter().map(usize::to_string).collect();
        format!(" --snapshots {}", list.join(","))
    };
    let text = format!(
        "#!/usr/bin/env bash\n\
         # Written by `msym sweep --emit-slurm`: {n} array tasks, one shard of the sweep each.\n\
         # Submit with `sbatch {script}`; afterwards merge with `msym collect {out}/shard-* --out {out}`.\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --job-name=msym-sweep\n\
         set -euo pipefail\n\
         : \"${{SLURM_ARRAY_TASK_ID:?run under sbatch, or set it by hand}}\"\n\
         MSYM=\"${{MSYM:-msym}}\"\n\
         \"$MSYM\" sweep '{config}'{sets} {device}{limit}{snapshots}{fail_fast} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --out '{out}/shard-'\"$SLURM_ARRAY_TASK_ID\"\n",
        last = n - 1,
        script = script.display(),
        out = out.display(),
        config = c.config.path().display(),
    );
    msym_config::write_atomic(script, text.as_bytes())
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", script.display())))?;
    println!("wrote {} ({n} array tasks)", script.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(started: bool, left: usize) -> Work {
        Work { started, left }
    }

    #[test]
    fn longest_left_first_without_a_time_limit() {
        let work = [w(true, 10), w(false, 30), w(false, 20), w(true, 25)];
        assert_eq!(queue_order(&work, false, false), vec![1, 3, 2, 0]);
    }

    #[test]
    fn under_a_time_limit_started_groups_go_first_longest_left_first() {
        let work = [w(true, 10), w(false, 30), w(false, 20), w(true, 25)];
        assert_eq!(queue_order(&work, true, false), vec![3, 0, 1, 2]);
    }

    #[test]
    fn started_only_leaves_the_fresh_groups_out() {
        let work = [w(true, 10), w(false, 30), w(false, 20), w(true, 25)];
        assert_eq!(queue_order(&work, true, true), vec![3, 0]);
        assert_eq!(queue_order(&work, false, true), vec![3, 0]);
        assert!(queue_order(&[w(false, 1)], true, true).is_empty());
    }

    #[test]
    fn ties_keep_the_plan_order() {
        let work = [w(false, 5), w(false, 5), w(false, 5)];
        assert_eq!(queue_order(&work, true, false), vec![0, 1, 2]);
    }
}
