//! Reading what `msym sweep` and `msym train` wrote into cells: one resolved config and
//! its final / max scores per seed. A sweep directory has `cells/<id>/{summary.json,
//! config.resolved.toml}` (one such cell directory is a result set too); a run directory
//! has `summary.json` (one replica per cell) and `cells.json` (their resolved configs, in
//! replica order).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{CompareError, read};
use crate::flat::{Flat, flatten};

/// One trained cell (one seed of one setting).
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// The cell's directory (sweep) or `run#replica` (run).
    pub origin: String,
    pub config: Flat,
    pub seed: u64,
    pub depth: u64,
    pub gamma: f64,
    /// "finished", "diverged", ...
    pub status: String,
    /// Metric -> value at the last evaluation (NaN where the run wrote null).
    pub final_scores: BTreeMap<String, f64>,
    /// Metric -> maximum over evaluations.
    pub max_scores: BTreeMap<String, f64>,
}

/// The cells of one sweep or run directory.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub path: PathBuf,
    pub cells: Vec<CellResult>,
    /// Sweep cells without a summary yet (still training or never started).
    pub pending: usize,
}

fn is_sweep(p: &Path) -> bool {
    p.join("cells").is_dir()
}

fn is_run(p: &Path) -> bool {
    p.join("summary.json").is_file() && p.join("cells.json").is_file()
}

/// One cell of a sweep (`cells/<id>/`).
fn is_cell(p: &Path) -> bool {
    p.join("summary.json").is_file() && p.join("config.resolved.toml").is_file() && !p.join("cells.json").exists()
}

fn is_set(p: &Path) -> bool {
    is_sweep(p) || is_run(p) || is_cell(p)
}

/// RESULTS: a sweep directory, a run directory, or a folder whose subfolders are those.
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
            message: "holds no results: expected a sweep directory (cells/<id>/summary.json), one sweep cell (summary.json and config.resolved.toml), a run directory (summary.json and cells.json) or a folder of those".into(),
        });
    }
    dirs.iter().map(|d| read_set(d)).collect()
}

fn read_set(path: &Path) -> Result<ResultSet, CompareError> {
    let (cells, pending) = if is_sweep(path) {
        read_sweep(path)?
    } else if is_cell(path) {
        (vec![read_cell(path)?], 0)
    } else {
        (read_run(path)?, 0)
    };
    if cells.is_empty() {
        return Err(CompareError::NoResults {
            path: path.to_path_buf(),
            message: format!("has no finished cell yet ({pending} pending)"),
        });
    }
    Ok(ResultSet {
        path: path.to_path_buf(),
        cells,
        pending,
    })
}

fn json(path: &Path) -> Result<Value, CompareError> {
    serde_json::from_str(&read(path)?).map_err(|e| CompareError::format(path, e.to_string()))
}

fn read_sweep(path: &Path) -> Result<(Vec<CellResult>, usize), CompareError> {
    let dir = path.join("cells");
    let entries = std::fs::read_dir(&dir).map_err(|source| CompareError::Read { path: dir, source })?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    let (mut cells, mut pending) = (Vec::new(), 0);
    for d in dirs {
        if !d.join("summary.json").is_file() {
            pending += 1;
            continue;
        }
        cells.push(read_cell(&d)?);
    }
    Ok((cells, pending))
}

/// A sweep cell directory: summary.json (the replica summary under "summary") and
/// config.resolved.toml.
fn read_cell(d: &Path) -> Result<CellResult, CompareError> {
    let summary = json(&d.join("summary.json"))?;
    let cfg_path = d.join("config.resolved.toml");
    let table: toml::Table =
        toml::from_str(&read(&cfg_path)?).map_err(|e| CompareError::format(&cfg_path, e.message()))?;
    let config = flatten(&serde_json::to_value(table).expect("toml is json"));
    cell(d.display().to_string(), config, &summary["summary"], d)
}

fn read_run(path: &Path) -> Result<Vec<CellResult>, CompareError> {
    let summary = json(&path.join("summary.json"))?;
    let configs = json(&path.join("cells.json"))?;
    let (Some(replicas), Some(configs)) = (summary["replicas"].as_array(), configs.as_array()) else {
        return Err(CompareError::format(
            path,
            "summary.json needs a replicas list and cells.json a list of configs",
        ));
    };
    if replicas.len() != configs.len() {
        return Err(CompareError::format(
            path,
            format!(
                "summary.json has {} replicas but cells.json {} configs",
                replicas.len(),
                configs.len()
            ),
        ));
    }
    replicas
        .iter()
        .zip(configs)
        .enumerate()
        .map(|(i, (r, c))| cell(format!("{}#{i}", path.display()), flatten(c), r, path))
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
        final_scores: scores(&summary["final_scores"]),
        max_scores: scores(&summary["max_scores"]),
        config,
    })
}
