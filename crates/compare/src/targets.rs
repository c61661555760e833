//! Which of our numbers each of the paper's single values is compared with: for every key
//! of a non-phase figure's reference section, the cells (a variant, selected by its
//! resolved config, not by its name in the sweep, so a renamed variant or a hand-made run
//! is still found), the score, and how the verdict reads the paper's number. Where the
//! paper's key leaves a choice open, `notes` says what was chosen; the report prints them.

use serde_json::Value;

use crate::flat::Flat;

/// How the paper's number is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A value (read off a curve): ours within the tolerance `value` of it.
    Near,
    /// An upper bound: ours at most it, plus the tolerance `bound`.
    AtMost,
    /// A lower bound: ours at least it, less the tolerance `bound`.
    AtLeast,
}

/// Our side of one or more paper keys: the cells whose config satisfies `matches`.
#[derive(Debug)]
pub struct Variant {
    /// Its name in the project's config (configs/<figure>.toml), for the reader.
    pub name: &'static str,
    /// The selection rule as text ("cells with model.conv = learned").
    pub rule: &'static str,
    pub matches: fn(&Flat) -> bool,
}

/// One key of the reference section.
#[derive(Debug)]
pub struct Target {
    /// The key as written (nested tables dotted: "mamba.ood").
    pub key: &'static str,
    pub variant: &'static Variant,
    /// The score in summary.json's final_scores.
    pub metric: &'static str,
    pub bound: Bound,
}

/// The mapping of one figure.
#[derive(Debug)]
pub struct FigureTargets {
    pub id: &'static str,
    pub targets: &'static [Target],
    /// Config fields that always split a variant into rows (fig5a: one row per depth).
    pub split_by: &'static [&'static str],
    /// The choices made where the paper's key is open to more than one reading.
    pub notes: &'static [&'static str],
}

fn s<'a>(c: &'a Flat, k: &str) -> &'a str {
    c.get(k).and_then(Value::as_str).unwrap_or("")
}

fn b(c: &Flat, k: &str) -> bool {
    c.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn any(_: &Flat) -> bool {
    true
}

fn learned_conv(c: &Flat) -> bool {
    s(c, "model.conv") == "learned"
}

fn all_ones_conv(c: &Flat) -> bool {
    s(c, "model.conv") == "all_ones_frozen"
}

fn no_positions(c: &Flat) -> bool {
    s(c, "model.pos_encoding") == "none"
}

fn positions(c: &Flat) -> bool {
    !no_positions(c)
}

fn plain_mamba(c: &Flat) -> bool {
    s(c, "model.kind") == "mamba2" && !b(c, "model.residual_around_conv") && no_positions(c)
}

fn transformer(c: &Flat) -> bool {
    s(c, "model.kind") == "transformer"
}

fn mamba_residual_positions(c: &Flat) -> bool {
    s(c, "model.kind") == "mamba2" && b(c, "model.residual_around_conv") && positions(c)
}

static EVERY_DEPTH: Variant = Variant {
    name: "Mamba2",
    rule: "every cell of the figure, a row per depth",
    matches: any,
};
static STANDARD_CONV: Variant = Variant {
    name: "standard",
    rule: "cells with model.conv = learned",
    matches: learned_conv,
};
static ALL_ONES: Variant = Variant {
    name: "all_ones",
    rule: "cells with model.conv = all_ones_frozen",
    matches: all_ones_conv,
};
static STANDARD_POS: Variant = Variant {
    name: "standard",
    rule: "cells with model.pos_encoding = none",
    matches: no_positions,
};
static POSITIONS: Variant = Variant {
    name: "positional encoding",
    rule: "cells with model.pos_encoding other than none",
    matches: positions,
};
static MAMBA: Variant = Variant {
    name: "mamba",
    rule: "cells with model.kind = mamba2, no residual around the conv, model.pos_encoding = none",
    matches: plain_mamba,
};
static TRANSFORMER: Variant = Variant {
    name: "transformer",
    rule: "cells with model.kind = transformer",
    matches: transformer,
};
static MAMBA_RES_PE: Variant = Variant {
    name: "mamba_res_pe",
    rule: "cells with model.kind = mamba2, model.residual_around_conv = true, model.pos_encoding other than none",
    matches: mamba_residual_positions,
};

const fn t(key: &'static str, variant: &'static Variant, metric: &'static str, bound: Bound) -> Target {
    Target {
        key,
        variant,
        metric,
        bound,
    }
}

use Bound::{AtMost, Near};

const UNSEEN: &str = "composite_* / symmetric_*: composite_test / symmetric_test, pair 43's test group scored against key - 10 / key - 6, at the last evaluation, mean over seeds";

/// Every non-phase figure whose values the comparer checks (fig4 reads analyses instead:
/// analysis.rs, fig4.rs).
pub static FIGURES: [FigureTargets; 4] = [
    FigureTargets {
        id: "fig5a",
        targets: &[
            t("pair34_test_acc_final", &EVERY_DEPTH, "acc_34_test", Near),
            t("pair43_test_acc_final_max", &EVERY_DEPTH, "acc_43_test", AtMost),
        ],
        split_by: &["model.depth"],
        notes: &[
            "pair34_test_acc_final: acc_34_test (pair 34's test group) at the last evaluation, mean over seeds, one row per depth: the paper gives one value for its depth 2..6 curves",
            "pair43_test_acc_final_max: the largest final pair-43 accuracy over the paper's curves, so an upper bound: ours is acc_43_test (pair 43's test group scored against its label, which is 34's) per depth, mean over seeds, and each depth must stay at or below it",
        ],
    },
    FigureTargets {
        id: "fig5b",
        targets: &[
            t("all_one_symmetric_final", &ALL_ONES, "symmetric_test", Near),
            t("all_one_composite_final", &ALL_ONES, "composite_test", Near),
            t("standard_composite_final", &STANDARD_CONV, "composite_test", Near),
            t("standard_symmetric_final", &STANDARD_CONV, "symmetric_test", Near),
        ],
        split_by: &[],
        notes: &[
            "all_ones: the kernel is fixed to ones and frozen; its bias still trains (the paper does not say)",
            UNSEEN,
        ],
    },
    FigureTargets {
        id: "fig5c",
        targets: &[
            t("pos_symmetric_final", &POSITIONS, "symmetric_test", Near),
            t("pos_composite_final", &POSITIONS, "composite_test", Near),
            t("standard_composite_final", &STANDARD_POS, "composite_test", Near),
            t("standard_symmetric_final", &STANDARD_POS, "symmetric_test", Near),
        ],
        split_by: &[],
        notes: &[
            "positional encoding: the paper does not say which kind, so every kind counts (configs/fig5c.toml runs sinusoidal); each kind that ran gets its own row",
            UNSEEN,
        ],
    },
    FigureTargets {
        id: "fig7",
        targets: &[
            t("mamba.train", &MAMBA, "acc_train", Near),
            t("mamba.test", &MAMBA, "acc_test", Near),
            t("mamba.ood", &MAMBA, "acc_ood", Near),
            t("transformer.train", &TRANSFORMER, "acc_train", Near),
            t("transformer.test", &TRANSFORMER, "acc_test", Near),
            t("transformer.ood", &TRANSFORMER, "acc_ood", Near),
            t("mamba_residual_posenc.train", &MAMBA_RES_PE, "acc_train", Near),
            t("mamba_residual_posenc.test", &MAMBA_RES_PE, "acc_test", Near),
            t("mamba_residual_posenc.ood", &MAMBA_RES_PE, "acc_ood", Near),
        ],
        split_by: &[],
        notes: &[
            "mamba_res_pe: the paper does not say which positional encoding, so every kind counts (configs/fig7.toml runs sinusoidal)",
            "depth: the paper's values are at depth 2; rows of other depths (configs/fig7_depth.toml) are held to the same numbers, and the setup diff lists the depths that differ",
            "train / test / ood: acc_train (the first 2048 samples of the train split, as every run scores trained groups) / acc_test / acc_ood at the last evaluation, mean over seeds; the paper's values are after 210 epochs",
        ],
    },
];

/// The mapping of figure `id`, if the comparer checks its values.
pub fn figure_targets(id: &str) -> Option<&'static FigureTargets> {
    FIGURES.iter().find(|f| f.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat::flatten;
    use serde_json::json;

    #[test]
    fn each_fig7_model_is_exactly_one_variant() {
        let mamba = |res: bool, pos: &str| {
            flatten(&json!({"model": {"kind": "mamba2", "residual_around_conv": res, "pos_encoding": pos}}))
        };
        let tf = flatten(&json!({"model": {"kind": "transformer", "pos_encoding": "learned"}}));
        let which = |c: &Flat| -> Vec<&str> {
            [&MAMBA, &TRANSFORMER, &MAMBA_RES_PE]
                .iter()
                .filter(|v| (v.matches)(c))
                .map(|v| v.name)
                .collect()
        };
        assert_eq!(which(&mamba(false, "none")), ["mamba"]);
        assert_eq!(which(&mamba(true, "sinusoidal")), ["mamba_res_pe"]);
        assert_eq!(which(&tf), ["transformer"]);
        // Neither of the paper's Mamba variants: residual without positions.
        assert!(which(&mamba(true, "none")).is_empty());
    }
}
