//! The paper's numbers (`references/paper_results.toml`): phase diagrams as matrices
//! (`composite[i]` is the row of `depth[i]`, one column per `gamma`), their claims as
//! checks, the project's tolerances, and the paper's stated setup as config fields; the
//! figures given as single numbers are read by reference_values.rs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

use crate::claims::Check;
use crate::error::{CompareError, read};
use crate::flat::{Flat, flatten};
use crate::reference_values::{ValueFigure, value_figure};

/// The project's acceptance bounds for `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Largest allowed |ours - paper| of one cell.
    pub cell: f64,
    /// Largest allowed mean absolute error over the compared cells.
    pub mae: f64,
}

/// A phase diagram of the paper (fig3, fig6).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseFigure {
    /// The figure id of SPEC section 4 ("fig3"): the section name up to its first '_'.
    pub id: String,
    /// The TOML section ("fig3_mamba_phase").
    pub section: String,
    pub description: String,
    pub gamma: Vec<f64>,
    pub depth: Vec<u64>,
    pub seeds: usize,
    pub composite: Vec<Vec<f64>>,
    pub symmetric: Vec<Vec<f64>>,
    pub checks: Vec<Check>,
    pub tolerance: Option<Tolerance>,
    /// The figure's own setup fields, without the training ones.
    pub setup: Flat,
}

impl PhaseFigure {
    /// The paper's (composite, symmetric) at (depth, gamma), if that is a cell of its grid.
    pub fn at(&self, depth: u64, gamma: f64) -> Option<(f64, f64)> {
        let i = self.depth.iter().position(|d| *d == depth)?;
        let j = self.gamma.iter().position(|g| (g - gamma).abs() < 1e-9)?;
        Some((self.composite[i][j], self.symmetric[i][j]))
    }
}

/// The whole reference file.
#[derive(Debug, Clone)]
pub struct Reference {
    pub citation: String,
    pub phase: Vec<PhaseFigure>,
    /// The figures given as single numbers that the comparer maps to ours (fig4, fig5a,
    /// fig5b, fig5c, fig7).
    pub values: Vec<ValueFigure>,
    /// `[training.setup]`: the training fields every figure shares.
    pub training_setup: Flat,
    /// Every other figure section by id, as `key = value` lines for reading.
    pub other: BTreeMap<String, (String, Vec<(String, String)>)>,
}

fn figure_id(section: &str) -> Option<&str> {
    let id = section.split('_').next()?;
    (id.starts_with("fig") || id == "supp" || id == "ref").then_some(id)
}

/// The keys of figure `id` that the comparer maps to ours, if it compares that figure's values.
fn mapped_keys(id: &str) -> Option<Vec<&'static str>> {
    if id == "fig4" {
        return Some(crate::fig4::KEYS.to_vec());
    }
    crate::targets::figure_targets(id).map(|f| f.targets.iter().map(|t| t.key).collect())
}

fn f64s(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_float().or_else(|| x.as_integer().map(|i| i as f64)))
        .collect()
}

/// A setup table as config fields; an absent one is no field (flattening a bare null would
/// give one field named "").
pub(crate) fn to_flat(v: Option<&Value>) -> Flat {
    v.map(|v| flatten(&serde_json::to_value(v).expect("toml values are json")))
        .unwrap_or_default()
}

impl Reference {
    pub fn load(path: &Path) -> Result<Self, CompareError> {
        Self::parse(&read(path)?, path)
    }

    /// Parses reference text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, CompareError> {
        let doc: Table = toml::from_str(text).map_err(|e| CompareError::format(path, e.message()))?;
        let source = doc.get("source").and_then(Value::as_table);
        let s = |k: &str| source.and_then(|t| t.get(k)).and_then(Value::as_str).unwrap_or("");
        let authors: Vec<&str> = source
            .and_then(|t| t.get("authors"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let citation = if s("title").is_empty() {
            s("paper").to_string()
        } else {
            format!(
                "{}, \"{}\", {}, arXiv:{}",
                authors.join(", "),
                s("title"),
                s("venue"),
                s("arxiv")
            )
        };
        if citation.is_empty() {
            return Err(CompareError::format(path, "has no [source] citation (title or paper)"));
        }
        let training_setup = to_flat(doc.get("training").and_then(|t| t.get("setup")));
        let mut phase = Vec::new();
        let mut values = Vec::new();
        let mut other = BTreeMap::new();
        for (section, v) in &doc {
            let (Some(id), Some(t)) = (figure_id(section), v.as_table()) else {
                continue;
            };
            if t.contains_key("composite") && t.contains_key("gamma") {
                phase.push(phase_figure(id, section, t, path)?);
            } else if let Some(keys) = mapped_keys(id) {
                values.push(value_figure(id, section, t, &keys, path)?);
            } else {
                let lines = t
                    .iter()
                    .filter(|(k, _)| *k != "description")
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect();
                let description = t.get("description").and_then(Value::as_str).unwrap_or("");
                other.insert(id.to_string(), (description.to_string(), lines));
            }
        }
        Ok(Self {
            citation,
            phase,
            values,
            training_setup,
            other,
        })
    }

    pub fn phase_figure(&self, id: &str) -> Option<&PhaseFigure> {
        self.phase.iter().find(|f| f.id == id)
    }

    pub fn value_figure(&self, id: &str) -> Option<&ValueFigure> {
        self.values.iter().find(|f| f.id == id)
    }
}

fn phase_figure(id: &str, section: &str, t: &Table, path: &Path) -> Result<PhaseFigure, CompareError> {
    let bad = |what: &str| CompareError::format(path, format!("[{section}] {what}"));
    let gamma = t
        .get("gamma")
        .and_then(f64s)
        .ok_or_else(|| bad("gamma must be a list of numbers"))?;
    let depth: Vec<u64> = t
        .get("depth")
        .and_then(f64s)
        .ok_or_else(|| bad("depth must be a list of integers"))?
        .into_iter()
        .map(|d| d as u64)
        .collect();
    let matrix = |key: &str| -> Result<Vec<Vec<f64>>, CompareError> {
        let rows = t
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&format!("{key} must be a list of rows")))?;
        let m: Option<Vec<Vec<f64>>> = rows.iter().map(f64s).collect();
        let m = m.ok_or_else(|| bad(&format!("{key} must hold rows of numbers")))?;
        if m.len() != depth.len() || m.iter().any(|r| r.len() != gamma.len()) {
            return Err(bad(&format!(
                "{key} must have {} rows (one per depth) of {} values (one per gamma)",
                depth.len(),
                gamma.len()
            )));
        }
        Ok(m)
    };
    let checks = match t.get("checks") {
        Some(v) => v
            .clone()
            .try_into::<Vec<Check>>()
            .map_err(|e| bad(&format!("checks: {}", e.message())))?,
        None => Vec::new(),
    };
    let tolerance = match t.get("tolerance") {
        Some(v) => Some(
            v.clone()
                .try_into::<Tolerance>()
                .map_err(|e| bad(&format!("tolerance: {}", e.message())))?,
        ),
        None => None,
    };
    Ok(PhaseFigure {
        id: id.to_string(),
        section: section.to_string(),
        description: t.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
        seeds: t.get("seeds").and_then(Value::as_integer).unwrap_or(0) as usize,
        composite: matrix("composite")?,
        symmetric: matrix("symmetric")?,
        gamma,
        depth,
        checks,
        tolerance,
        setup: to_flat(t.get("setup")),
    })
}
