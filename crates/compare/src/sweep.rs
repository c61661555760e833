//! A sweep directory as `msym sweep` leaves it: the plan in sweep.json (every cell's id),
//! finished cells in `cells/<id>/`, and the shape-group runs in `runs/<id>/`. A group run
//! copies its replicas into `cells/` only when it finishes, so a sweep stopped by its time
//! limit has cells that exist only in a run whose summary.json says `finished: false`:
//! those are read from the run, as cells in progress with the epoch of their last
//! evaluation, rather than left out or taken for final. A run killed before it wrote any
//! summary is read from its metrics.csv.

use std::path::{Path, PathBuf};

use crate::error::CompareError;
use crate::results::{CellResult, is_run, json, read_cell, read_run};

const PLAN: &str = "sweep.json";

/// A sweep has `cells/` or its plan: git keeps no empty folder, so a committed sweep whose
/// runs all stopped before finishing has only sweep.json and `runs/`.
pub(crate) fn is_sweep(p: &Path) -> bool {
    p.join("cells").is_dir() || p.join(PLAN).is_file()
}

/// The folders in `dir`, sorted; none where `dir` does not exist (a sweep before its first
/// finished cell or run).
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CompareError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| CompareError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The ids of the planned cells (None for a sweep without sweep.json, e.g. collected shards).
fn plan(path: &Path) -> Result<Option<Vec<String>>, CompareError> {
    let p = path.join(PLAN);
    if !p.is_file() {
        return Ok(None);
    }
    let v = json(&p)?;
    let ids: Option<Vec<String>> = v
        .as_array()
        .and_then(|cells| cells.iter().map(|c| c["id"].as_str().map(String::from)).collect());
    ids.map(Some)
        .ok_or_else(|| CompareError::format(&p, "must be a list of cells, each with an id"))
}

/// The replicas of the group runs that have not finished.
fn runs_in_progress(path: &Path) -> Result<Vec<CellResult>, CompareError> {
    let mut out = Vec::new();
    for run in subdirs(&path.join("runs"))? {
        if !is_run(&run) {
            continue;
        }
        // A run killed before its first summary (binaries before 2026-11-26 wrote it only
        // when a session ended) is read from its metrics.csv: it has not finished either.
        let summary = run.join("summary.json");
        if !summary.is_file() || json(&summary)?["finished"].as_bool() == Some(false) {
            out.extend(read_run(&run)?);
        }
    }
    Ok(out)
}

/// Every cell with results (final ones from `cells/`, the rest from unfinished runs) and
/// the number of planned cells without any result yet.
pub(crate) fn read_sweep(path: &Path) -> Result<(Vec<CellResult>, usize), CompareError> {
    let mut cells = Vec::new();
    let mut without_summary = 0;
    for d in subdirs(&path.join("cells"))? {
        if d.join("summary.json").is_file() {
            cells.push(read_cell(&d)?);
        } else {
            without_summary += 1;
        }
    }
    let running = runs_in_progress(path)?;
    let pending = match plan(path)? {
        // The cells still training are planned cells without a summary too.
        Some(ids) => ids
            .iter()
            .filter(|id| !path.join("cells").join(id).join("summary.json").is_file())
            .count()
            .saturating_sub(running.len()),
        None => without_summary,
    };
    cells.extend(running);
    Ok((cells, pending))
}
