//! The hyperparameter diff: every field the paper fixes that a run sets otherwise, then
//! the project's choices where the paper says nothing, with the values the runs used, so
//! a reader sees every assumption behind a number.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::flat::{Flat, same_value, show};
use crate::results::CellResult;

/// A field whose value differs from the paper's stated one in some cells.
#[derive(Debug, Clone, PartialEq)]
pub struct SetupDiff {
    pub field: String,
    pub paper: String,
    /// The distinct values our cells use, sorted.
    pub ours: Vec<String>,
}

/// Every field of `paper` (config path -> value) that some cell sets otherwise, in path
/// order; `paper_seeds` / `our_seeds` (seeds per phase cell) add a "seeds per cell" line.
pub fn setup_diff(paper: &Flat, cells: &[&CellResult], paper_seeds: usize, our_seeds: &[usize]) -> Vec<SetupDiff> {
    let mut out: Vec<SetupDiff> = paper
        .iter()
        .filter(|(field, want)| {
            cells
                .iter()
                .any(|c| c.config.get(*field).is_none_or(|v| !same_value(v, want)))
        })
        .map(|(field, want)| SetupDiff {
            field: field.clone(),
            paper: show(want),
            ours: distinct(cells, field),
        })
        .collect();
    let seeds: BTreeSet<usize> = our_seeds.iter().copied().collect();
    if paper_seeds > 0 && seeds.iter().any(|s| *s != paper_seeds) {
        out.push(SetupDiff {
            field: "seeds per cell".into(),
            paper: paper_seeds.to_string(),
            ours: seeds.iter().map(|s| s.to_string()).collect(),
        });
    }
    out
}

fn distinct(cells: &[&CellResult], field: &str) -> Vec<String> {
    let null = Value::Null;
    cells
        .iter()
        .map(|c| show(c.config.get(field).unwrap_or(&null)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A choice the paper leaves open, what the project does by default, and what ran.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectDefault {
    pub what: &'static str,
    /// The config field, when the choice is one.
    pub field: Option<&'static str>,
    pub default: &'static str,
    /// The values our cells used (empty when `field` is None).
    pub ours: Vec<String>,
}

/// (what, field, the project's default) for everything the paper does not state.
const SILENT: [(&str, Option<&str>, &str); 8] = [
    (
        "init rule: which dimension d1 of a weight (the conv kernel's included) sets its std d1^-gamma",
        Some("init.rule"),
        "first_dim (PyTorch layout; conv kernel: its channels) for Mamba2, fan_in for the Transformer",
    ),
    ("head tied to the embedding", Some("init.tied_head"), "false (untied)"),
    ("sequence length", Some("task.seq_len"), "8 (the 2024 paper used 9)"),
    (
        "data seed",
        Some("data_seed"),
        "the run seed (each seed draws its own dataset)",
    ),
    (
        "set-2 shift of anchor 4 (full symmetry)",
        Some("task.shifts_set2"),
        "+4",
    ),
    ("compute precision", Some("train.precision"), "f32"),
    (
        "evaluation group",
        None,
        "pair 43's test group (key mod L == position), scored against key - 10 (composite) and key - 6 (symmetric)",
    ),
    (
        "value compared with a heatmap cell",
        None,
        "final-epoch accuracy, mean over seeds (not the max over epochs)",
    ),
];

/// Records which value stood for a heatmap cell, where it is not the default final epoch.
pub fn mark_value(defaults: &mut [ProjectDefault], value: &str) {
    for d in defaults
        .iter_mut()
        .filter(|d| d.what == "value compared with a heatmap cell")
    {
        d.ours = vec![value.to_string()];
    }
}

/// The project's defaults where the paper is silent, with the values `cells` used; fields
/// that none of the cells has (e.g. the full-symmetry shift for the composite task) are left out.
pub fn project_defaults(cells: &[&CellResult]) -> Vec<ProjectDefault> {
    SILENT
        .iter()
        .filter(|(_, field, _)| field.is_none_or(|f| cells.iter().any(|c| c.config.contains_key(f))))
        .map(|(what, field, default)| ProjectDefault {
            what,
            field: *field,
            default,
            ours: field.map(|f| distinct(cells, f)).unwrap_or_default(),
        })
        .collect()
}
