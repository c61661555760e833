//! Run vs run (or sweep vs sweep): the config fields whose values differ between the two
//! sides, and for every setting both sides trained, each metric's difference B - A as a
//! mean and std over seeds, paired on the seeds both sides ran (a one-seed spot check of
//! a three-seed sweep: B - A on that seed, next to B's spread over its three).

use std::collections::{BTreeMap, BTreeSet};

use crate::flat::show;
use crate::phase::{NOT_A_SETTING, varying};
use crate::results::CellResult;
use crate::stats::mean_std;

/// A field whose set of values differs between A and B.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    pub field: String,
    pub a: Vec<String>,
    pub b: Vec<String>,
    /// E.g. that data_seed follows the seed on both sides and so is not listed apart.
    pub note: Option<String>,
}

/// One metric of one setting on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDiff {
    /// The setting's varying fields (`init.gamma=0.5;model.depth=2`), or "all".
    pub group: String,
    /// `composite_test` (final) or `max composite_test`.
    pub metric: String,
    /// (mean, std, seeds) on each side.
    pub a: (f64, f64, usize),
    pub b: (f64, f64, usize),
    /// Mean of B - A, and its std over seeds when paired by seed (else None): over the
    /// seeds in `paired` when there are any, else the difference of the sides' means.
    pub diff_mean: f64,
    pub diff_std: Option<f64>,
    /// The seeds both sides ran (each once a side), which B - A is paired on.
    pub paired: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunComparison {
    pub fields: Vec<FieldDiff>,
    pub metrics: Vec<MetricDiff>,
    /// Settings trained on one side only.
    pub only_a: usize,
    pub only_b: usize,
    /// The cells still training on either side, as "B: run#1 (seed 2) at epoch 185 of
    /// 210": their "final" values are their last evaluation's and can still move.
    pub not_final: Vec<String>,
    /// The epoch both sides were read at (`msym compare A B --epoch E`), None: their last.
    pub epoch: Option<u64>,
}

const FINAL: [&str; 5] = [
    "composite_test",
    "symmetric_test",
    "seen_test",
    "composite_train",
    "symmetric_train",
];
const MAX: [&str; 2] = ["composite_test", "symmetric_test"];

fn values(cells: &[CellResult], field: &str) -> Vec<String> {
    cells
        .iter()
        .map(|c| c.config.get(field).map(show).unwrap_or_else(|| "(absent)".into()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn data_seed_follows(cells: &[CellResult]) -> bool {
    cells
        .iter()
        .all(|c| c.config.get("data_seed").and_then(|v| v.as_u64()) == Some(c.seed))
}

/// The field-level diff of A and B.
fn field_diffs(a: &[CellResult], b: &[CellResult]) -> Vec<FieldDiff> {
    let keys: BTreeSet<&String> = a.iter().chain(b).flat_map(|c| c.config.keys()).collect();
    let follows = data_seed_follows(a) && data_seed_follows(b);
    keys.into_iter()
        .filter(|k| !(follows && k.as_str() == "data_seed"))
        .filter_map(|k| {
            let (va, vb) = (values(a, k), values(b, k));
            (va != vb).then(|| FieldDiff {
                field: k.clone(),
                note: (follows && k == "seed").then(|| "data_seed follows the seed on both sides".to_string()),
                a: va,
                b: vb,
            })
        })
        .collect()
}

fn group_key(c: &CellResult, skip: &BTreeSet<&str>) -> String {
    c.config
        .iter()
        .filter(|(k, _)| !NOT_A_SETTING.contains(&k.as_str()) && !skip.contains(k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cells by setting (everything but the seed and the fields in `skip`).
fn groups<'a>(cells: &'a [CellResult], skip: &BTreeSet<&str>) -> BTreeMap<String, Vec<&'a CellResult>> {
    let mut g: BTreeMap<String, Vec<&CellResult>> = BTreeMap::new();
    for c in cells {
        g.entry(group_key(c, skip)).or_default().push(c);
    }
    g
}

/// Compares the cells of A with those of B.
pub fn compare_runs(a: &[CellResult], b: &[CellResult]) -> RunComparison {
    let fields = field_diffs(a, b);
    // A field with one value per side that differs is what A and B are about: settings are
    // matched without it. A field that varies within a side (B also trained depth 3) still
    // tells settings apart.
    let skip: BTreeSet<&str> = fields
        .iter()
        .filter(|f| f.a.len() == 1 && f.b.len() == 1)
        .map(|f| f.field.as_str())
        .collect();
    let (ga, gb) = (groups(a, &skip), groups(b, &skip));
    let both: Vec<&CellResult> = a.iter().chain(b).collect();
    let label_fields: Vec<String> = varying(&both)
        .into_iter()
        .filter(|k| !skip.contains(k.as_str()))
        .collect();
    let mut metrics = Vec::new();
    for (key, ca) in &ga {
        let Some(cb) = gb.get(key) else { continue };
        let label = label_fields
            .iter()
            .map(|k| format!("{k}={}", ca[0].config.get(k).map(show).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(";");
        let label = if label.is_empty() { "all".to_string() } else { label };
        let picks = FINAL.iter().map(|m| (*m, false)).chain(MAX.iter().map(|m| (*m, true)));
        for (m, max) in picks {
            let get = |c: &&CellResult| {
                let s = if max { &c.max_scores } else { &c.final_scores };
                s.get(m).copied()
            };
            let (Some(va), Some(vb)) = (
                ca.iter().map(get).collect::<Option<Vec<f64>>>(),
                cb.iter().map(get).collect::<Option<Vec<f64>>>(),
            ) else {
                continue;
            };
            metrics.push(metric_diff(&label, m, max, ca, &va, cb, &vb));
        }
    }
    RunComparison {
        fields,
        metrics,
        only_a: ga.keys().filter(|k| !gb.contains_key(*k)).count(),
        only_b: gb.keys().filter(|k| !ga.contains_key(*k)).count(),
        not_final: still_training("A", a).chain(still_training("B", b)).collect(),
        epoch: None,
    }
}

fn still_training<'a>(side: &'a str, cells: &'a [CellResult]) -> impl Iterator<Item = String> + 'a {
    cells.iter().filter(|c| !c.is_final()).map(move |c| {
        let at = match (c.epoch, c.planned_epochs()) {
            (Some(e), Some(p)) => format!("at epoch {e} of {p}"),
            (Some(e), None) => format!("at epoch {e}"),
            _ => "at an unrecorded epoch".to_string(),
        };
        format!("{side}: {} (seed {}) {at}", c.origin, c.seed)
    })
}

fn metric_diff(
    group: &str,
    m: &str,
    max: bool,
    ca: &[&CellResult],
    va: &[f64],
    cb: &[&CellResult],
    vb: &[f64],
) -> MetricDiff {
    let (ma, sa) = mean_std(va);
    let (mb, sb) = mean_std(vb);
    let once = |c: &[&CellResult]| {
        let s: BTreeSet<u64> = c.iter().map(|c| c.seed).collect();
        (s.len() == c.len()).then_some(s)
    };
    // A seed that a side ran twice (two runs of one setting) pairs with neither.
    let paired: Vec<u64> = match (once(ca), once(cb)) {
        (Some(sa), Some(sb)) => sa.intersection(&sb).copied().collect(),
        _ => Vec::new(),
    };
    let (diff_mean, diff_std) = if paired.is_empty() {
        (mb - ma, None)
    } else {
        let by_seed = |c: &[&CellResult], v: &[f64]| -> BTreeMap<u64, f64> {
            c.iter().map(|c| c.seed).zip(v.iter().copied()).collect()
        };
        let (a, b) = (by_seed(ca, va), by_seed(cb, vb));
        let d: Vec<f64> = paired.iter().map(|s| b[s] - a[s]).collect();
        let (dm, ds) = mean_std(&d);
        (dm, Some(ds))
    };
    MetricDiff {
        group: group.to_string(),
        metric: if max { format!("max {m}") } else { m.to_string() },
        a: (ma, sa, va.len()),
        b: (mb, sb, vb.len()),
        diff_mean,
        diff_std,
        paired,
    }
}
