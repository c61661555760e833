//! The models the analyses read: one replica of a finished run, its weights from the run's
//! checkpoint (runs keep only their latest one), and the same replica at epoch 0, which the
//! seeded initialization reproduces exactly (weights are drawn from (seed, tensor name),
//! whatever the replica's place in the run).
//!
//! A directory is a training run (`msym train`: cells.json + checkpoint), one cell of a
//! sweep (`cells/<id>/`, whose summary.json names the group run under `runs/` that trained
//! it), or a whole sweep (sweep.json: every cell).

use std::path::{Path, PathBuf};

use anchor_data::{Dataset, generate};
use models::{Model, ReplicaInit, build_model, write_params};
use msym_config::{ExperimentConfig, cell_id};

use crate::backend::CpuBackend;
use crate::error::CliError;
use crate::json_file::read_json;

/// Where one replica's weights live.
#[derive(Debug, Clone)]
pub struct Located {
    /// The run directory holding checkpoint.safetensors.
    pub run_dir: PathBuf,
    /// Its place among the run's replicas.
    pub replica: usize,
    /// The replica's resolved config.
    pub config: ExperimentConfig,
    /// How the outputs name it: the sweep cell id, or `replica-R` for a training run.
    pub name: String,
    /// The sweep's settings of this cell (empty for a training run).
    pub sets: Vec<String>,
}

/// A loaded replica: an R = 1 model on the CPU.
pub struct Trained {
    pub at: Located,
    pub model: Model<CpuBackend>,
    /// Epochs completed when the checkpoint was written.
    pub epoch: usize,
}

fn run_cells(run_dir: &Path) -> Result<Vec<ExperimentConfig>, CliError> {
    let path = run_dir.join(trainer::rundir::CELLS);
    let v = read_json(&path)?;
    serde_json::from_value(v).map_err(|e| CliError::input(format!("{} does not list run configs: {e}", path.display())))
}

/// Every replica that `dir` holds (a run: all its replicas; a sweep cell: one; a sweep: one
/// per finished cell), in a stable order.
pub fn locate(dir: &Path) -> Result<Vec<Located>, CliError> {
    if !dir.is_dir() {
        return Err(CliError::input(format!("{} is not a directory", dir.display())));
    }
    if dir.join(trainer::checkpoint::STATE).is_file() {
        let cells = run_cells(dir)?;
        return Ok(cells
            .into_iter()
            .enumerate()
            .map(|(r, config)| Located {
                run_dir: dir.to_path_buf(),
                replica: r,
                config,
                name: format!("replica-{r}"),
                sets: Vec::new(),
            })
            .collect());
    }
    if dir.join("summary.json").is_file() && dir.parent().is_some_and(|p| p.ends_with("cells")) {
        return sweep_cell(dir).map(|l| vec![l]);
    }
    if dir.join("sweep.json").is_file() {
        let mut cells: Vec<PathBuf> = std::fs::read_dir(dir.join("cells"))
            .map_err(|e| CliError::input(format!("cannot list {}/cells: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("summary.json").is_file())
            .collect();
        cells.sort();
        if cells.is_empty() {
            return Err(CliError::input(format!(
                "{} holds no finished sweep cell",
                dir.display()
            )));
        }
        return cells.iter().map(|c| sweep_cell(c)).collect();
    }
    Err(CliError::input(format!(
        "{} is neither a training run (checkpoint.json), a sweep cell (cells/<id>/summary.json) nor a sweep (sweep.json)",
        dir.display()
    )))
}

/// A sweep cell: its summary names the group run (`runs/<run>`) and the cell id, which is
/// the content hash of one of that run's replica configs.
fn sweep_cell(cell: &Path) -> Result<Located, CliError> {
    let summary = read_json(&cell.join("summary.json"))?;
    let (Some(id), Some(run)) = (summary["id"].as_str(), summary["run"].as_str()) else {
        return Err(CliError::input(format!(
            "{}/summary.json names no id and run, so its checkpoint cannot be found",
            cell.display()
        )));
    };
    let sweep = cell.parent().and_then(Path::parent).unwrap_or(Path::new("."));
    let run_dir = sweep.join("runs").join(run);
    let cells = run_cells(&run_dir)?;
    let replica = cells.iter().position(|c| cell_id(c) == id).ok_or_else(|| {
        CliError::input(format!(
            "{} has no replica whose config hashes to cell {id}",
            run_dir.display()
        ))
    })?;
    let sets = summary["sets"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Ok(Located {
        run_dir,
        replica,
        config: cells[replica].clone(),
        name: id.to_string(),
        sets,
    })
}

/// The one replica an analysis of a single model reads: `replica` of a run (default 0),
/// the cell of a sweep cell, the only cell of a one-cell sweep.
pub fn locate_one(dir: &Path, replica: Option<usize>) -> Result<Located, CliError> {
    let mut all = locate(dir)?;
    let n = all.len();
    match replica {
        Some(r) if r < n => Ok(all.swap_remove(r)),
        Some(r) => Err(CliError::input(format!(
            "--replica {r}: {} holds {n} replica(s), numbered from 0",
            dir.display()
        ))),
        None if n == 1 || dir.join(trainer::checkpoint::STATE).is_file() => Ok(all.swap_remove(0)),
        None => Err(CliError::input(format!(
            "{} holds {n} sweep cells; pass one of them (e.g. {}/cells/{})",
            dir.display(),
            dir.display(),
            all[0].name
        ))),
    }
}

/// The replica's seeded initialization (epoch 0), as training drew it.
pub fn initial(at: &Located) -> Model<CpuBackend> {
    let init = ReplicaInit {
        seed: at.config.seed,
        gamma: at.config.init.gamma,
    };
    build_model(&at.config, &[init], &Default::default())
}

/// The replica's weights at its last checkpoint.
pub fn load(at: Located) -> Result<Trained, CliError> {
    let (params, state) = trainer::checkpoint::load_weights(&at.run_dir).map_err(CliError::input)?;
    let n_replicas = run_cells(&at.run_dir)?.len();
    let mut model = initial(&at);
    let r = at.replica;
    let missing = write_params(&mut model, &|name: &str| {
        params.get(name).map(|v| {
            let n = v.len() / n_replicas;
            v[r * n..(r + 1) * n].to_vec()
        })
    });
    if let Some(name) = missing.first() {
        return Err(CliError::input(format!(
            "{}: the checkpoint has no '{name}', so it was not written by this config",
            at.run_dir.display()
        )));
    }
    Ok(Trained {
        at,
        model,
        epoch: state.epoch,
    })
}

/// The replica's dataset (a pure function of its task and data seed).
pub fn dataset(cfg: &ExperimentConfig) -> Result<Dataset, CliError> {
    generate(&cfg.task, cfg.data_seed()).map_err(|e| CliError::input(e.to_string()))
}
