//! Paper vs ours: the cells of RESULTS grouped by figure, and for each figure the cell
//! table, the claim verdicts, the setup diff and the project's defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::claims::{Check, Verdict, evaluate};
use crate::figure::{FigureId, identify};
use crate::phase::{PhaseRow, aggregate};
use crate::reference::{PhaseFigure, Reference};
use crate::results::{CellResult, ResultSet};
use crate::setup::{ProjectDefault, SetupDiff, project_defaults, setup_diff};
use crate::table::CellTable;

/// One accuracy of one figure as two heatmaps, the paper's and ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// File stem, e.g. "fig3_composite" ("fig3_composite_2" for a second setting).
    pub name: String,
    pub title: String,
    /// (depth, gamma, value)
    pub paper: Vec<(u64, f64, f64)>,
    /// (depth, gamma, value, any seed diverged)
    pub ours: Vec<(u64, f64, f64, bool)>,
}

#[derive(Debug, Clone)]
pub struct FigureComparison {
    pub figure: FigureId,
    /// The reference's description of the figure ("" when it has none).
    pub description: String,
    /// The result directories its cells came from.
    pub sources: Vec<PathBuf>,
    pub cells: usize,
    pub rows: Vec<PhaseRow>,
    /// None when the reference has no phase diagram for the figure.
    pub table: Option<CellTable>,
    /// (settings, check, verdict on our cells, verdict on the paper's cells)
    pub verdicts: Vec<(String, Check, Verdict, Verdict)>,
    pub setup: Vec<SetupDiff>,
    pub defaults: Vec<ProjectDefault>,
    pub heatmaps: Vec<Heatmap>,
    /// The reference's values for a figure without a phase diagram, `key = value`.
    pub paper_values: Vec<(String, String)>,
    /// What could not be compared, in one sentence (None when everything was).
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PaperComparison {
    pub citation: String,
    pub reference: PathBuf,
    pub results: PathBuf,
    pub figures: Vec<FigureComparison>,
    /// Cells that match none of the paper's figures.
    pub unmatched: usize,
    /// Sweep cells not finished yet.
    pub pending: usize,
}

impl PaperComparison {
    /// Every failed tolerance and failed claim, one sentence each (what --strict acts on).
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.figures {
            if let Some(t) = &f.table {
                out.extend(
                    t.tolerance_failures()
                        .into_iter()
                        .map(|s| format!("{}: {s}", f.figure.id)),
                );
            }
            for (settings, check, ours, _) in &f.verdicts {
                if ours.holds == Some(false) {
                    let at = if settings.is_empty() {
                        String::new()
                    } else {
                        format!(" ({settings})")
                    };
                    out.push(format!("{}{at}: claim fails: {}", f.figure.id, check.claim));
                }
            }
        }
        out
    }
}

/// Compares every figure found in `sets` with `reference`.
pub fn compare_to_paper(
    results: &Path,
    sets: &[ResultSet],
    reference: &Reference,
    reference_path: &Path,
) -> PaperComparison {
    let mut by_figure: BTreeMap<String, (FigureId, Vec<CellResult>, BTreeSet<PathBuf>)> = BTreeMap::new();
    let mut unmatched = 0;
    for set in sets {
        for cell in &set.cells {
            let Some(fig) = identify(&cell.config) else {
                unmatched += 1;
                continue;
            };
            let entry = by_figure
                .entry(fig.id.clone())
                .or_insert((fig, Vec::new(), BTreeSet::new()));
            entry.1.push(cell.clone());
            entry.2.insert(set.path.clone());
        }
    }
    PaperComparison {
        citation: reference.citation.clone(),
        reference: reference_path.to_path_buf(),
        results: results.to_path_buf(),
        figures: by_figure
            .into_values()
            .map(|(fig, cells, sources)| compare_figure(fig, &cells, sources.into_iter().collect(), reference))
            .collect(),
        unmatched,
        pending: sets.iter().map(|s| s.pending).sum(),
    }
}

fn compare_figure(
    figure: FigureId,
    cells: &[CellResult],
    sources: Vec<PathBuf>,
    reference: &Reference,
) -> FigureComparison {
    let rows = aggregate(cells);
    let refs: Vec<&CellResult> = cells.iter().collect();
    let mut out = FigureComparison {
        description: String::new(),
        sources,
        cells: cells.len(),
        table: None,
        verdicts: Vec::new(),
        setup: Vec::new(),
        defaults: project_defaults(&refs),
        heatmaps: Vec::new(),
        paper_values: Vec::new(),
        note: None,
        rows,
        figure,
    };
    if let Some(fig) = reference.phase_figure(&out.figure.id) {
        let mut paper_setup = reference.training_setup.clone();
        paper_setup.extend(fig.setup.clone());
        let seeds: Vec<usize> = out.rows.iter().map(|r| r.seeds).collect();
        out.setup = setup_diff(&paper_setup, &refs, fig.seeds, &seeds);
        out.description = fig.description.clone();
        out.table = Some(CellTable::build(fig, &out.rows));
        out.verdicts = verdicts(fig, &out.rows);
        out.heatmaps = heatmaps(fig, &out.rows);
    } else if let Some((description, values)) = reference.other.get(&out.figure.id) {
        out.description = description.clone();
        out.paper_values = values.clone();
        out.note = Some(format!(
            "the reference has no phase diagram for {}: its values are listed beside ours, without a cell table or verdicts",
            out.figure.id
        ));
    } else {
        out.note = Some(format!("the reference holds no numbers for {}", out.figure.id));
    }
    out
}

/// Settings groups of `rows`, in order.
fn settings(rows: &[PhaseRow]) -> Vec<String> {
    let mut s: Vec<String> = rows.iter().map(|r| r.settings.clone()).collect();
    s.dedup();
    s
}

fn verdicts(fig: &PhaseFigure, rows: &[PhaseRow]) -> Vec<(String, Check, Verdict, Verdict)> {
    let g = [
        fig.gamma.iter().copied().fold(f64::INFINITY, f64::min),
        fig.gamma.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    ];
    let d = [
        fig.depth.iter().copied().min().unwrap_or(0),
        fig.depth.iter().copied().max().unwrap_or(0),
    ];
    let mut paper = Vec::new();
    for (i, depth) in fig.depth.iter().enumerate() {
        for (j, gamma) in fig.gamma.iter().enumerate() {
            paper.push((*depth, *gamma, fig.composite[i][j], fig.symmetric[i][j]));
        }
    }
    let mut out = Vec::new();
    for s in settings(rows) {
        let ours: Vec<(u64, f64, f64, f64)> = rows
            .iter()
            .filter(|r| r.settings == s)
            .map(|r| (r.depth, r.gamma, r.composite.0, r.symmetric.0))
            .collect();
        for check in &fig.checks {
            out.push((
                s.clone(),
                check.clone(),
                evaluate(check, &ours, g, d),
                evaluate(check, &paper, g, d),
            ));
        }
    }
    out
}

fn heatmaps(fig: &PhaseFigure, rows: &[PhaseRow]) -> Vec<Heatmap> {
    let mut out = Vec::new();
    for (k, s) in settings(rows).iter().enumerate() {
        for (metric, m) in [("composite", &fig.composite), ("symmetric", &fig.symmetric)] {
            let mut paper = Vec::new();
            for (i, depth) in fig.depth.iter().enumerate() {
                for (j, gamma) in fig.gamma.iter().enumerate() {
                    paper.push((*depth, *gamma, m[i][j]));
                }
            }
            let ours = rows
                .iter()
                .filter(|r| &r.settings == s)
                .map(|r| {
                    let v = if metric == "composite" {
                        r.composite.0
                    } else {
                        r.symmetric.0
                    };
                    (r.depth, r.gamma, v, r.diverged > 0)
                })
                .collect();
            let suffix = if k == 0 { String::new() } else { format!("_{}", k + 1) };
            let at = if s.is_empty() { String::new() } else { format!(" ({s})") };
            out.push(Heatmap {
                name: format!("{}_{metric}{suffix}", fig.id),
                title: format!("{} {metric} accuracy on pair 43{at}", fig.id),
                paper,
                ours,
            });
        }
    }
    out
}
