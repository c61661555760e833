//! The phase table: cells grouped by everything but the seed, with the mean and sample std
//! over seeds of the final composite and symmetric accuracy on pair 43 (what phase.csv
//! holds, recomputed from the cells so that runs, sweeps and merged folders read alike).

use std::collections::{BTreeMap, BTreeSet};

use crate::flat::show;
use crate::results::CellResult;
use crate::stats::mean_std;

/// Fields that tell seeds apart or carry no experiment (free text, the figure's name).
pub(crate) const NOT_A_SETTING: [&str; 4] = ["seed", "data_seed", "description", "figure"];

/// One (settings, depth, gamma) point, over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseRow {
    /// The fields besides depth and gamma that vary between the rows (`train.lr_peak=0.001`),
    /// empty when only depth and gamma vary.
    pub settings: String,
    pub depth: u64,
    pub gamma: f64,
    pub seeds: usize,
    /// (mean, std) of the final composite accuracy.
    pub composite: (f64, f64),
    pub symmetric: (f64, f64),
    /// (mean, std) over seeds of each seed's max over its evaluated epochs.
    pub composite_max: (f64, f64),
    pub symmetric_max: (f64, f64),
    pub diverged: usize,
    /// Seeds still training (a phase table takes them only when asked to): the row's
    /// values are final when this is 0.
    pub not_final: usize,
}

/// A cell's setting: its config without the fields in [`NOT_A_SETTING`].
pub(crate) fn setting_key(cell: &CellResult) -> String {
    cell.config
        .iter()
        .filter(|(k, _)| !NOT_A_SETTING.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fields that vary between cells (not seeds), in path order.
pub(crate) fn varying(cells: &[&CellResult]) -> Vec<String> {
    let keys: BTreeSet<&String> = cells.iter().flat_map(|c| c.config.keys()).collect();
    keys.into_iter()
        .filter(|k| !NOT_A_SETTING.contains(&k.as_str()))
        .filter(|k| {
            let values: BTreeSet<String> = cells
                .iter()
                .map(|c| c.config.get(*k).map(show).unwrap_or_default())
                .collect();
            values.len() > 1
        })
        .cloned()
        .collect()
}

/// Groups `cells` over seeds, sorted by settings, depth and gamma.
pub fn aggregate(cells: &[&CellResult]) -> Vec<PhaseRow> {
    let label_fields: Vec<String> = varying(cells)
        .into_iter()
        .filter(|k| k != "model.depth" && k != "init.gamma")
        .collect();
    let mut groups: BTreeMap<String, Vec<&CellResult>> = BTreeMap::new();
    for &c in cells {
        groups.entry(setting_key(c)).or_default().push(c);
    }
    let mut rows: Vec<PhaseRow> = groups
        .values()
        .map(|seeds| {
            let first = seeds[0];
            let col = |f: &dyn Fn(&CellResult) -> f64| seeds.iter().map(|c| f(c)).collect::<Vec<f64>>();
            let fin = |m: &'static str| move |c: &CellResult| c.final_scores.get(m).copied().unwrap_or(f64::NAN);
            let max = |m: &'static str| move |c: &CellResult| c.max_scores.get(m).copied().unwrap_or(f64::NAN);
            PhaseRow {
                settings: label_fields
                    .iter()
                    .map(|k| format!("{k}={}", first.config.get(k).map(show).unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(";"),
                depth: first.depth,
                gamma: first.gamma,
                seeds: seeds.len(),
                composite: mean_std(&col(&fin("composite_test"))),
                symmetric: mean_std(&col(&fin("symmetric_test"))),
                composite_max: mean_std(&col(&max("composite_test"))),
                symmetric_max: mean_std(&col(&max("symmetric_test"))),
                diverged: seeds.iter().filter(|c| c.status == "diverged").count(),
                not_final: seeds.iter().filter(|c| !c.is_final()).count(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        a.settings
            .cmp(&b.settings)
            .then(a.depth.cmp(&b.depth))
            .then(a.gamma.total_cmp(&b.gamma))
    });
    rows
}
