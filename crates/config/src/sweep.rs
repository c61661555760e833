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

/// The cross product of the variants (in name order; none: one plain variant) and the
/// grid (in the order of its fields, alphabetical, and of each field's values), after
/// `overrides`. A variant's fields apply before the grid's. A config without a `[sweep]`
/// is one cell.
pub fn expand(path: &Path, overrides: &[String]) -> Result<Vec<Cell>, ConfigError> {
    let raw = load_unresolved(path, overrides)?;
    let sweep = raw.sweep.unwrap_or_default();
    let invalid = |field: String, value: String, message: &str| ConfigError::Invalid {
        path: path.to_path_buf(),
        field,
        value,
        message: message.into(),
    };
    if let Some((field, _)) = sweep.grid.iter().find(|(_, v)| v.is_empty()) {
        return Err(invalid(
            format!("sweep.grid.\"{field}\""),
            "[]".into(),
            "needs at least one value",
        ));
    }
    let mut variants: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (name, fields) in &sweep.variants {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(invalid(
                "sweep.variants".into(),
                format!("\"{name}\""),
                "a variant name may hold only letters, digits, '_' and '-' (it names cells and files)",
            ));
        }
        let sets = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        variants.push((vec![format!("variant={name}")], sets));
    }
    if variants.is_empty() {
        variants.push((Vec::new(), Vec::new()));
    }
    let mut combos: Vec<(Vec<String>, Vec<String>)> = variants;
    for (field, values) in &sweep.grid {
        combos = combos
            .into_iter()
            .flat_map(|(sets, fields)| {
                values.iter().map(move |v| {
                    let (mut sets, mut fields) = (sets.clone(), fields.clone());
                    sets.push(format!("{field}={v}"));
                    fields.push(format!("{field}={v}"));
                    (sets, fields)
                })
            })
            .collect();
    }
    let cells = combos
        .into_iter()
        .map(|(sets, fields)| {
            let all: Vec<String> = overrides.iter().cloned().chain(fields).collect();
            let mut config = load(path, &all)?;
            config.sweep = None;
            Ok(Cell {
                id: cell_id(&config),
                sets,
                config,
            })
        })
        .collect::<Result<Vec<Cell>, ConfigError>>()?;
    for (i, a) in cells.iter().enumerate() {
        if let Some(b) = cells[..i].iter().find(|b| b.id == a.id) {
            return Err(invalid(
                "sweep".into(),
                format!("{} and {}", b.sets.join(";"), a.sets.join(";")),
                "two cells resolve to the same config; make the variants differ",
            ));
        }
    }
    Ok(cells)
}
