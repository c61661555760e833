//! The value table of a figure whose paper values are final accuracies of a few variants
//! (fig5a, fig5b, fig5c, fig7): for each paper key, our cells of its variant (targets.rs),
//! grouped by setting (everything but the seed), the mean and sample std over seeds of the
//! score at the last evaluation, and the epoch that evaluation was.

use std::collections::{BTreeMap, BTreeSet};

use crate::flat::show;
use crate::phase::{setting_key, varying};
use crate::reference_values::ValueFigure;
use crate::results::CellResult;
use crate::stats::mean_std;
use crate::targets::{Bound, FigureTargets, Target};
use crate::values::{ValueRow, ValueTable};

/// The table of `fig`, mapped by `targets`, over `cells` (final and in progress).
pub(crate) fn variant_table(fig: &ValueFigure, targets: &FigureTargets, cells: &[&CellResult]) -> ValueTable {
    let rows = targets
        .targets
        .iter()
        .flat_map(|t| rows(fig, targets, t, cells))
        .collect();
    let mapped: BTreeSet<&str> = targets.targets.iter().map(|t| t.key).collect();
    let context = fig.context(|k| mapped.contains(k));
    ValueTable {
        rows,
        approx: fig.approx,
        context,
        mapping: mapping(targets),
    }
}

/// "variant = rule: key <- metric, ..." per variant, then the notes.
fn mapping(targets: &FigureTargets) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for t in targets.targets {
        if seen.contains(&t.variant.name) {
            continue;
        }
        seen.push(t.variant.name);
        let same: Vec<&Target> = targets
            .targets
            .iter()
            .filter(|u| std::ptr::eq(u.variant, t.variant))
            .collect();
        let pairs: Vec<String> = same.iter().map(|u| format!("{} <- {}", u.key, u.metric)).collect();
        out.push(format!("{} = {}: {}", t.variant.name, t.variant.rule, pairs.join(", ")));
    }
    out.extend(targets.notes.iter().map(|n| n.to_string()));
    out
}

fn rows(fig: &ValueFigure, targets: &FigureTargets, t: &Target, cells: &[&CellResult]) -> Vec<ValueRow> {
    let paper = fig.value(t.key).unwrap_or(f64::NAN);
    let tolerance = fig.tolerance.and_then(|tol| match t.bound {
        Bound::Near => tol.value,
        Bound::AtMost | Bound::AtLeast => tol.bound,
    });
    let empty = ValueRow {
        key: t.key.to_string(),
        variant: t.variant.name.to_string(),
        settings: String::new(),
        metric: t.metric.to_string(),
        bound: t.bound,
        paper,
        ours: f64::NAN,
        ours_std: f64::NAN,
        seeds: 0,
        diff: f64::NAN,
        epochs: None,
        planned: None,
        is_final: false,
        detail: None,
        tolerance,
    };
    let selected: Vec<&CellResult> = cells
        .iter()
        .copied()
        .filter(|c| (t.variant.matches)(&c.config))
        .collect();
    if selected.is_empty() {
        return vec![empty];
    }
    let mut label_fields: Vec<String> = targets.split_by.iter().map(|s| s.to_string()).collect();
    for k in varying(&selected) {
        if !label_fields.contains(&k) {
            label_fields.push(k);
        }
    }
    let mut groups: BTreeMap<String, Vec<&CellResult>> = BTreeMap::new();
    for c in &selected {
        groups.entry(setting_key(c)).or_default().push(c);
    }
    let mut out: Vec<ValueRow> = groups
        .values()
        .map(|seeds| {
            let values: Vec<f64> = seeds
                .iter()
                .map(|c| c.final_scores.get(t.metric).copied().unwrap_or(f64::NAN))
                .collect();
            let (ours, ours_std) = mean_std(&values);
            let epochs: Option<Vec<u64>> = seeds.iter().map(|c| c.epoch).collect();
            ValueRow {
                settings: label(seeds[0], &label_fields),
                ours,
                ours_std,
                seeds: seeds.len(),
                diff: ours - paper,
                epochs: epochs.map(|e| (*e.iter().min().unwrap(), *e.iter().max().unwrap())),
                planned: seeds.iter().filter_map(|c| c.planned_epochs()).max(),
                is_final: seeds.iter().all(|c| c.is_final()),
                ..empty.clone()
            }
        })
        .collect();
    out.sort_by(|a, b| depth_of(a).cmp(&depth_of(b)).then(a.settings.cmp(&b.settings)));
    out
}

fn label(c: &CellResult, fields: &[String]) -> String {
    fields
        .iter()
        .map(|k| format!("{k}={}", c.config.get(k).map(show).unwrap_or_else(|| "(absent)".into())))
        .collect::<Vec<_>>()
        .join(";")
}

/// Rows split by depth sort by its number ("model.depth=10" after "model.depth=9").
fn depth_of(r: &ValueRow) -> u64 {
    r.settings
        .split(';')
        .find_map(|kv| kv.strip_prefix("model.depth="))
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}
