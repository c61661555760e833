//! Reading what `msym sweep` and `msym train` wrote into cells: one resolved config and
//! its final / max scores per seed. A sweep directory has `cells/<id>/{summary.json,
//! config.resolved.toml}` (one such cell directory is a result set too; sweep.rs reads the
//! rest of a sweep); a run directory has `summary.json` (one replica per cell) and
//! `cells.json` (their resolved configs, in replica order), or, killed before its first
//! summary, `metrics.csv` in place of the summary (run_metrics.rs). Beside any of them,
//! `analysis/` may hold the fig4 analyses' CSVs (analysis.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::analysis::{Analysis, read_analysis};
use crate::error::{CompareError, read};
use crate::flat::{Flat, flatten};
use crate::run_metrics;
use crate::sweep::{is_sweep, read_sweep};

/// One trained cell (one seed of one setting).
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// The cell's directory (sweep) or `run#replica` (run).
    pub origin: String,
    pub config: Flat,
    pub seed: u64,
    pub depth: u64,
    pub gamma: f64,
    /// "finished", "diverged" (both final), "training" (a run stopped before its last epoch).
    pub status: String,
    /// The epoch of the last evaluation, the one `final_scores` come from (None where the
    /// summary does not say).
    pub epoch: Option<u64>,
    /// Metric -> value at the last evaluation (NaN where the run wrote null).
    pub final_scores: BTreeMap<String, f64>,
    /// Metric -> maximum over evaluations.
    pub max_scores: BTreeMap<String, f64>,
    /// Where its evaluations are row by row, for [`at_epoch`]: a metrics.csv and the cell's
    /// replica in it (None: the file is this cell's alone). None where there is no file.
    pub history: Option<(PathBuf, Option<usize>)>,
}

impl CellResult {
    /// Finished or diverged: no later evaluation will come.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "finished" | "diverged")
    }

    /// The epochs the config asks for (`train.epochs`).
    pub fn planned_epochs(&self) -> Option<u64> {
        self.config.get("train.epochs").and_then(Value::as_u64)
    }
}

/// The cells of one sweep or run directory.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub path: PathBuf,
    /// Cells whose training is over (finished or diverged).
    pub cells: Vec<CellResult>,
    /// Cells still training (a run or sweep stopped by its time limit): their scores are
    /// those of the last evaluation so far, `epoch` says which.
    pub in_progress: Vec<CellResult>,
    /// Planned sweep cells without any result yet (neither final nor in progress).
    pub pending: usize,
    /// The fig4 analyses found beside the results (`analysis/`), or the folder itself.
    pub analysis: Option<Analysis>,
}

impl ResultSet {
    /// Final cells, then the ones in progress.
    pub fn all_cells(&self) -> impl Iterator<Item = &CellResult> {
        self.cells.iter().chain(&self.in_progress)
    }
}

/// A run directory: its replicas' configs, and a summary or (killed before one) metrics.
pub(crate) fn is_run(p: &Path) -> bool {
    p.join("cells.json").is_file() && (p.join("summary.json").is_file() || p.join("metrics.csv").is_file())
}

/// One cell of a sweep (`cells/<id>/`).
fn is_cell(p: &Path) -> bool {
    p.join("summary.json").is_file() && p.join("config.resolved.toml").is_file() && !p.join("cells.json").exists()
}

/// A folder of analysis CSVs alone (`msym analyze ... --out DIR`).
fn is_analysis(p: &Path) -> bool {
    crate::analysis::holds_analysis(p)
}

fn is_set(p: &Path) -> bool {
    is_sweep(p) || is_run(p) || is_cell(p) || is_analysis(p)
}

/// RESULTS: a sweep directory, a run directory, an analysis folder, or a folder whose
/// subfolders are those.
pub fn read_results(path: &Path) -> Result<Vec<ResultSet>, CompareError> {
    if is_set(path) {
        return Ok(vec![read_set(path)?]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| CompareError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_set(p))
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(CompareError::NoResults {
            path: path.to_path_buf(),
            message: "holds no results: expected a sweep directory (cells/<id>/summary.json), one sweep cell (summary.json and config.resolved.toml), a run directory (cells.json with summary.json or metrics.csv), an analysis folder (block.csv, substitute.csv) or a folder of those".into(),
        });
    }
    dirs.iter().map(|d| read_set(d)).collect()
}

fn read_set(path: &Path) -> Result<ResultSet, CompareError> {
    let (cells, pending) = if is_sweep(path) {
        read_sweep(path)?
    } else if is_cell(path) {
        (vec![read_cell(path)?], 0)
    } else if is_run(path) {
        (read_run(path)?, 0)
    } else {
        (Vec::new(), 0)
    };
    let analysis = if is_analysis(path) {
        read_analysis(path)?
    } else {
        read_analysis(&path.join("analysis"))?
    };
    let (cells, in_progress): (Vec<CellResult>, Vec<CellResult>) = cells.into_iter().partition(CellResult::is_final);
    if cells.is_empty() && in_progress.is_empty() && analysis.is_none() {
        return Err(CompareError::NoResults {
            path: path.to_path_buf(),
            message: format!("has no cell with results yet ({pending} pending)"),
        });
    }
    Ok(ResultSet {
        path: path.to_path_buf(),
        cells,
        in_progress,
        pending,
        analysis,
    })
}

pub(crate) fn json(path: &Path) -> Result<Value, CompareError> {
    serde_json::from_str(&read(path)?).map_err(|e| CompareError::format(path, e.to_string()))
}

/// A sweep cell directory: summary.json (the replica summary under "summary") and
/// config.resolved.toml.
pub(crate) fn read_cell(d: &Path) -> Result<CellResult, CompareError> {
    let summary = json(&d.join("summary.json"))?;
    let cfg_path = d.join("config.resolved.toml");
    let table: toml::Table =
        toml::from_str(&read(&cfg_path)?).map_err(|e| CompareError::format(&cfg_path, e.message()))?;
    let config = flatten(&serde_json::to_value(table).expect("toml is json"));
    let mut c = cell(d.display().to_string(), config, &summary["summary"], d)?;
    c.history = history(d, None);
    Ok(c)
}

/// Every replica of a run directory, final or not: from summary.json, or from metrics.csv
/// where a killed run left no summary.
pub(crate) fn read_run(path: &Path) -> Result<Vec<CellResult>, CompareError> {
    let summary_path = path.join("summary.json");
    let replicas = if summary_path.is_file() {
        json(&summary_path)?["replicas"].as_array().cloned()
    } else {
        Some(run_metrics::replicas(&path.join("metrics.csv"))?)
    };
    let configs = json(&path.join("cells.json"))?;
    let (Some(replicas), Some(configs)) = (replicas, configs.as_array()) else {
        return Err(CompareError::format(
            path,
            "summary.json needs a replicas list and cells.json a list of configs",
        ));
    };
    if replicas.len() != configs.len() {
        return Err(CompareError::format(
            path,
            format!(
                "the run has {} replicas but cells.json {} configs",
                replicas.len(),
                configs.len()
            ),
        ));
    }
    replicas
        .iter()
        .zip(configs)
        .enumerate()
        .map(|(i, (r, c))| {
            let mut c = cell(format!("{}#{i}", path.display()), flatten(c), r, path)?;
            c.history = history(path, Some(i));
            Ok(c)
        })
        .collect()
}

fn history(dir: &Path, replica: Option<usize>) -> Option<(PathBuf, Option<usize>)> {
    let m = dir.join("metrics.csv");
    m.is_file().then_some((m, replica))
}

/// The cells as they stood at `epoch`: each one's last evaluation at or before it and its
/// maxima up to it, read from its metrics.csv ("finished" where it was evaluated at
/// `epoch`, "training" where its evaluations stop before). For comparing two runs at an
/// epoch other than their last, such as the composite peak of a run that loses it later.
pub fn at_epoch(cells: &[CellResult], epoch: u64) -> Result<Vec<CellResult>, CompareError> {
    cells
        .iter()
        .map(|c| {
            let Some((path, replica)) = &c.history else {
                return Err(CompareError::format(
                    Path::new(&c.origin),
                    format!("has no metrics.csv, so its values at epoch {epoch} are unknown"),
                ));
            };
            let s = run_metrics::replica_at(path, *replica, epoch)?;
            Ok(CellResult {
                status: s["status"].as_str().unwrap_or("unknown").to_string(),
                epoch: s["epochs"].as_u64(),
                final_scores: scores(&s["final_scores"]),
                max_scores: scores(&s["max_scores"]),
                ..c.clone()
            })
        })
        .collect()
}

fn scores(v: &Value) -> BTreeMap<String, f64> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(f64::NAN)))
        .collect()
}

/// One cell from its flattened config and its replica summary.
fn cell(origin: String, config: Flat, summary: &Value, path: &Path) -> Result<CellResult, CompareError> {
    let num = |k: &str| config.get(k).and_then(Value::as_f64);
    let (Some(seed), Some(depth), Some(gamma)) = (num("seed"), num("model.depth"), num("init.gamma")) else {
        return Err(CompareError::format(
            path,
            "the resolved config lacks seed, model.depth or init.gamma",
        ));
    };
    Ok(CellResult {
        origin,
        seed: seed as u64,
        depth: depth as u64,
        gamma,
        status: summary["status"].as_str().unwrap_or("unknown").to_string(),
        epoch: summary["epochs"].as_u64(),
        final_scores: scores(&summary["final_scores"]),
        max_scores: scores(&summary["max_scores"]),
        config,
        history: None,
    })
}
