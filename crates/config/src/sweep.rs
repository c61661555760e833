//! Sweeps: the `[sweep] grid` of a config expanded into cells, each a fully resolved
//! config with an id derived from its content.

use std::path::Path;

use crate::error::ConfigError;
use crate::load::{load, load_unresolved};
use crate::schema::ExperimentConfig;

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The first 12 hex digits of the blake3 of the resolved config's JSON.
    pub id: String,
    /// The grid's `field=value` settings of this cell.
    pub sets: Vec<String>,
    /// Resolved, with `sweep` removed.
    pub config: ExperimentConfig,
}

/// Content id of a resolved config: equal configs, equal ids, whatever file they came from.
pub fn cell_id(cfg: &ExperimentConfig) -> String {
    let json = serde_json::to_string(cfg).expect("configs serialize");
    blake3::hash(json.as_bytes()).to_hex()[..12].to_string()
}

/// The cross product of the grid of `path` (after `overrides`), in the order of the grid's
/// fields (alphabetical) and of each field's values. A config without a grid is one cell.
pub fn expand(path: &Path, overrides: &[String]) -> Result<Vec<Cell>, ConfigError> {
    let raw = load_unresolved(path, overrides)?;
    let grid = raw.sweep.map(|s| s.grid).unwrap_or_default();
    if let Some((field, _)) = grid.iter().find(|(_, v)| v.is_empty()) {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            field: format!("sweep.grid.\"{field}\""),
            value: "[]".into(),
            message: "needs at least one value".into(),
        });
    }
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for (field, values) in &grid {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push(format!("{field}={v}"));
                    c
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|sets| {
            let all: Vec<String> = overrides.iter().cloned().chain(sets.iter().cloned()).collect();
            let mut config = load(path, &all)?;
            config.sweep = None;
            Ok(Cell {
                id: cell_id(&config),
                sets,
                config,
            })
        })
        .collect()
}
