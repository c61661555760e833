//! A phase figure against the paper's: the claim verdicts on our cells and on the paper's
//! own, and the heatmap pairs (ours, the paper's) per settings group.

use crate::claims::{Check, Verdict, evaluate};
use crate::paper::Heatmap;
use crate::phase::PhaseRow;
use crate::reference::PhaseFigure;

/// Settings groups of `rows`, in order.
fn settings(rows: &[PhaseRow]) -> Vec<String> {
    let mut s: Vec<String> = rows.iter().map(|r| r.settings.clone()).collect();
    s.dedup();
    s
}

pub(crate) fn verdicts(fig: &PhaseFigure, rows: &[PhaseRow]) -> Vec<(String, Check, Verdict, Verdict)> {
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

pub(crate) fn heatmaps(fig: &PhaseFigure, rows: &[PhaseRow]) -> Vec<Heatmap> {
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
                ours_final: rows.iter().filter(|r| &r.settings == s).all(|r| r.not_final == 0),
            });
        }
    }
    out
}
