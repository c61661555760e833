//! Fig. 4a/4b against the paper: the smallest per-pair share of the blocking analysis
//! (outputs unchanged) and of the substitution analysis (outputs that become the 43
//! output), each against the paper's minimum over its pairs. The paper's numbers are lower
//! bounds: a verdict holds when ours reaches it (less the tolerance `bound`).
//!
//! Choices where the paper leaves room: every pair the CSV lists counts, the unseen pair 43
//! included for blocking (block.csv scores it; substitution has no 43 row, its donors are
//! the 43 sequences); pairs without sequences are skipped; the pooled share is shown beside.

use crate::analysis::{Analysis, BLOCK, PairShare, SUBSTITUTE};
use crate::reference_values::ValueFigure;
use crate::setup::SetupDiff;
use crate::targets::Bound;
use crate::values::{ValueRow, ValueTable};

/// The reference keys this figure compares.
pub const KEYS: [&str; 2] = ["blocking_agreement_min", "substitution_collapse_min"];

/// One analysed model: its analyses and whether its training was over (None: a folder of
/// analyses alone, which does not record it).
pub(crate) struct Analysed<'a> {
    pub analysis: &'a Analysis,
    pub is_final: Option<bool>,
}

pub(crate) fn fig4_table(fig: &ValueFigure, models: &[Analysed]) -> ValueTable {
    let several = models.len() > 1;
    let mut rows = Vec::new();
    for m in models {
        let a = m.analysis;
        let settings = if several {
            a.dir.display().to_string()
        } else {
            String::new()
        };
        for (key, file, shares, what) in [
            (KEYS[0], BLOCK.0, &a.block, "share unchanged"),
            (KEYS[1], SUBSTITUTE.0, &a.substitute, "share collapsed to the 43 output"),
        ] {
            rows.push(row(fig, key, file, what, shares.as_deref(), &settings, m.is_final));
        }
    }
    let context = fig.context(|k| KEYS.contains(&k));
    ValueTable {
        rows,
        approx: fig.approx,
        context,
        mapping: vec![
            format!(
                "{}: {} (msym analyze block; S blocked from the key and both anchors to every later token, in every layer): share of outputs unchanged, lowest over the anchor pairs, the unseen 43 included",
                KEYS[0], BLOCK.0
            ),
            format!(
                "{}: {} (msym analyze substitute; post-conv states after the anchors replaced in every layer): share of outputs that become the 43 sequence's output, lowest over the pairs (43 itself is the donor); sequences whose anchors end them have nothing to substitute and are not counted",
                KEYS[1], SUBSTITUTE.0
            ),
            "block_after_anchors.csv and substitute_first_layer.csv are variants of the protocol, not the paper's, and are not compared".into(),
        ],
    }
}

fn row(
    fig: &ValueFigure,
    key: &str,
    file: &str,
    what: &str,
    shares: Option<&[PairShare]>,
    settings: &str,
    is_final: Option<bool>,
) -> ValueRow {
    let paper = fig.value(key).unwrap_or(f64::NAN);
    let scored: Vec<&PairShare> = shares.unwrap_or_default().iter().filter(|p| p.n > 0).collect();
    let lowest = scored.iter().min_by(|a, b| a.share().total_cmp(&b.share()));
    let (k, n) = scored.iter().fold((0, 0), |(k, n), p| (k + p.k, n + p.n));
    let ours = lowest.map_or(f64::NAN, |p| p.share());
    ValueRow {
        key: key.to_string(),
        variant: "the analysed model".into(),
        settings: settings.to_string(),
        metric: format!("{file}: {what}, lowest pair"),
        bound: Bound::AtLeast,
        paper,
        ours,
        ours_std: f64::NAN,
        seeds: usize::from(lowest.is_some()),
        diff: ours - paper,
        epochs: None,
        planned: None,
        // Analyses alone are taken at face value, and the row says so.
        is_final: is_final.unwrap_or(true),
        detail: lowest.map(|p| {
            let unknown = if is_final.is_none() {
                "; analyses alone: whether the model had finished training is not recorded"
            } else {
                ""
            };
            format!(
                "lowest pair {} ({} of {}); all {} pairs: {k} of {n} = {:.3}{}{unknown}",
                p.pair,
                p.k,
                p.n,
                scored.len(),
                k as f64 / n as f64,
                plain_accuracy(&scored)
            )
        }),
        tolerance: fig.tolerance.and_then(|t| t.bound),
    }
}

/// "; the unmodified model's accuracy on them: 0.987", where the CSV has `acc_plain`.
fn plain_accuracy(scored: &[&PairShare]) -> String {
    let Some(acc) = scored
        .iter()
        .map(|p| p.acc_plain.map(|a| a * p.n as f64))
        .sum::<Option<f64>>()
    else {
        return String::new();
    };
    let n: u64 = scored.iter().map(|p| p.n).sum();
    format!("; the unmodified model's accuracy on them: {:.3}", acc / n as f64)
}

/// "sequences per pair" when block.csv's n differs from the paper's `sequences_per_pair`.
pub(crate) fn sequences_setup(fig: &ValueFigure, models: &[Analysed]) -> Vec<SetupDiff> {
    let Some(paper) = fig.value("sequences_per_pair") else {
        return Vec::new();
    };
    let ns: std::collections::BTreeSet<u64> = models
        .iter()
        .flat_map(|m| m.analysis.block.iter().flatten().map(|p| p.n))
        .collect();
    if ns.iter().all(|n| *n as f64 == paper) {
        return Vec::new();
    }
    vec![SetupDiff {
        field: "sequences per pair (block.csv n)".into(),
        paper: paper.to_string(),
        ours: ns.iter().map(|n| n.to_string()).collect(),
    }]
}
