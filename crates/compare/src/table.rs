//! The cell table: for every cell of ours that is a cell of the paper's grid, paper vs ours
//! for both accuracies, the difference, the mean absolute error and the largest misses.

use crate::phase::PhaseRow;
use crate::reference::{PhaseFigure, Tolerance};

/// One accuracy of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CellDiff {
    pub settings: String,
    pub depth: u64,
    pub gamma: f64,
    /// "composite" or "symmetric".
    pub metric: &'static str,
    pub paper: f64,
    /// Mean over our seeds of the final accuracy.
    pub ours: f64,
    pub ours_std: f64,
    pub seeds: usize,
    /// ours - paper (NaN when ours is: a diverged or unscored cell).
    pub diff: f64,
    /// Every seed's training is over (false for a cell still training in a table that
    /// takes those in).
    pub is_final: bool,
}

impl CellDiff {
    /// Within the cell tolerance (a NaN is never within).
    pub fn within(&self, tol: &Tolerance) -> bool {
        self.diff.abs() <= tol.cell
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellTable {
    pub diffs: Vec<CellDiff>,
    /// Our rows whose (depth, gamma) the paper did not train: (settings, depth, gamma).
    pub outside: Vec<(String, u64, f64)>,
    /// Cells in the paper's grid (depths x gammas).
    pub paper_cells: usize,
    pub tolerance: Option<Tolerance>,
}

impl CellTable {
    pub fn build(fig: &PhaseFigure, rows: &[PhaseRow]) -> Self {
        let mut diffs = Vec::new();
        let mut outside = Vec::new();
        for r in rows {
            let Some((pc, ps)) = fig.at(r.depth, r.gamma) else {
                outside.push((r.settings.clone(), r.depth, r.gamma));
                continue;
            };
            for (metric, paper, (ours, std)) in [("composite", pc, r.composite), ("symmetric", ps, r.symmetric)] {
                diffs.push(CellDiff {
                    settings: r.settings.clone(),
                    depth: r.depth,
                    gamma: r.gamma,
                    metric,
                    paper,
                    ours,
                    ours_std: std,
                    seeds: r.seeds,
                    diff: ours - paper,
                    is_final: r.not_final == 0,
                });
            }
        }
        Self {
            diffs,
            outside,
            paper_cells: fig.depth.len() * fig.gamma.len(),
            tolerance: fig.tolerance,
        }
    }

    /// Mean |ours - paper| over the finite differences of `metric` (None: both).
    pub fn mae(&self, metric: Option<&str>) -> f64 {
        let d: Vec<f64> = self
            .diffs
            .iter()
            .filter(|d| metric.is_none_or(|m| d.metric == m) && d.diff.is_finite())
            .map(|d| d.diff.abs())
            .collect();
        d.iter().sum::<f64>() / d.len() as f64
    }

    /// The `n` largest |differences|, largest first; NaN differences (no result) come first.
    pub fn largest(&self, n: usize) -> Vec<&CellDiff> {
        let mut d: Vec<&CellDiff> = self.diffs.iter().collect();
        let key = |x: &CellDiff| if x.diff.is_nan() { f64::INFINITY } else { x.diff.abs() };
        d.sort_by(|a, b| key(b).total_cmp(&key(a)));
        d.truncate(n);
        d
    }

    /// One sentence per tolerance that fails (empty: all hold, or no tolerance is set).
    pub fn tolerance_failures(&self) -> Vec<String> {
        let Some(tol) = self.tolerance else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let misses = self.diffs.iter().filter(|d| !d.within(&tol)).count();
        if misses > 0 {
            out.push(format!(
                "{misses} of {} cell values differ from the paper by more than {}",
                self.diffs.len(),
                tol.cell
            ));
        }
        let mae = self.mae(None);
        // NaN: every compared cell diverged, which no tolerance accepts.
        if !self.diffs.is_empty() && (mae.is_nan() || mae > tol.mae) {
            out.push(format!("mean absolute error {mae:.3} exceeds {}", tol.mae));
        }
        out
    }
}
