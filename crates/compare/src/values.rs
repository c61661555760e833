//! Paper vs ours for the figures the paper gives as single numbers (final accuracies of a
//! few variants, fig4's minimum shares): one row per paper key and setting of ours, with
//! the mean and sample std over seeds, the epoch the values come from, and a verdict.
//! A value from a run still training is never taken for final: its verdict is "not final".

use crate::targets::Bound;

/// Float rounding: 0.79 against 0.59 with tolerance 0.2 is within (|0.79 - 0.59| is
/// 0.20000000000000007 in f64).
const EPS: f64 = 1e-9;

/// One paper value against ours.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueRow {
    /// The reference key ("pos_symmetric_final", "mamba.ood").
    pub key: String,
    /// Our variant's name (targets.rs) or the analysed model's folder.
    pub variant: String,
    /// Config fields telling this row from the variant's other rows ("model.depth=3"), or "".
    pub settings: String,
    /// What of ours is compared ("symmetric_test", "block.csv: share unchanged, lowest pair").
    pub metric: String,
    pub bound: Bound,
    pub paper: f64,
    /// Mean over seeds (NaN: no value, e.g. a diverged seed).
    pub ours: f64,
    pub ours_std: f64,
    /// Cells (seeds) behind `ours`; 0: none of ours is this variant.
    pub seeds: usize,
    /// ours - paper.
    pub diff: f64,
    /// (earliest, latest) epoch of the seeds' last evaluations, where the runs say.
    pub epochs: Option<(u64, u64)>,
    /// The epochs the configs ask for.
    pub planned: Option<u64>,
    /// Every seed's training is over.
    pub is_final: bool,
    /// More for the reader (fig4: the pooled share and the lowest pair).
    pub detail: Option<String>,
    /// The tolerance that applies: `value` for a value, `bound` for a bound; None: not set.
    pub tolerance: Option<f64>,
}

/// A row's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Holds,
    Fails,
    /// Some seed is still training; `within` is what the values so far give.
    NotFinal {
        within: bool,
    },
    /// Nothing to decide, and why.
    Untested(&'static str),
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::Fails => "FAILS",
            Outcome::NotFinal { .. } => "not final",
            Outcome::Untested(_) => "untested",
        }
    }
}

impl ValueRow {
    /// Whether ours satisfies the check (None: no tolerance set, or no cell of ours). A NaN
    /// (diverged) value never does.
    pub fn within(&self) -> Option<bool> {
        let tol = self.tolerance?;
        if self.seeds == 0 {
            return None;
        }
        Some(match self.bound {
            Bound::Near => self.diff.abs() <= tol + EPS,
            Bound::AtMost => self.ours <= self.paper + tol + EPS,
            Bound::AtLeast => self.ours >= self.paper - tol - EPS,
        })
    }

    pub fn outcome(&self) -> Outcome {
        if self.seeds == 0 {
            return Outcome::Untested("nothing of ours to compare");
        }
        match (self.within(), self.is_final) {
            (None, _) => Outcome::Untested("no tolerance set"),
            (Some(within), false) => Outcome::NotFinal { within },
            (Some(true), true) => Outcome::Holds,
            (Some(false), true) => Outcome::Fails,
        }
    }

    /// The check as text: "|ours - paper| <= 0.2", "ours <= 0.03 + 0.05", "ours >= 0.98".
    pub fn check(&self) -> String {
        let Some(tol) = self.tolerance else {
            return "no tolerance set".into();
        };
        let slack = |sign: char| {
            if tol == 0.0 {
                String::new()
            } else {
                format!(" {sign} {tol}")
            }
        };
        match self.bound {
            Bound::Near => format!("|ours - paper| <= {tol}"),
            Bound::AtMost => format!("ours <= {}{}", self.paper, slack('+')),
            Bound::AtLeast => format!("ours >= {}{}", self.paper, slack('-')),
        }
    }

    /// Where the values come from in time: "final (epoch 210)", "epoch 125 of 210", "final";
    /// "-" without values.
    pub fn when(&self) -> String {
        if self.seeds == 0 {
            return "-".into();
        }
        let at = match self.epochs {
            Some((a, b)) if a == b => format!("epoch {a}"),
            Some((a, b)) => format!("epochs {a}-{b}"),
            None => String::new(),
        };
        match (self.is_final, at.is_empty(), self.planned) {
            (true, true, _) => "final".into(),
            (true, false, _) => format!("final ({at})"),
            (false, false, Some(p)) => format!("{at} of {p}"),
            (false, false, None) => at,
            (false, true, _) => "not final".into(),
        }
    }

    /// The key with this row's settings, as failures name it.
    pub fn name(&self) -> String {
        if self.settings.is_empty() {
            self.key.clone()
        } else {
            format!("{} [{}]", self.key, self.settings)
        }
    }
}

/// The value rows of one figure, with what the reader needs to judge them.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueTable {
    pub rows: Vec<ValueRow>,
    /// The paper's numbers were read off its plots.
    pub approx: bool,
    /// The reference's entries that are not compared (`chance = 0.2`), as `key = value`.
    pub context: Vec<(String, String)>,
    /// How each paper key maps to ours, and the choices made where that was open.
    pub mapping: Vec<String>,
}

impl ValueTable {
    /// One sentence per failed or not-final row (what --strict acts on).
    pub fn failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|r| match r.outcome() {
                Outcome::Fails => Some(format!(
                    "{}: ours {:.3} vs paper {} fails {}",
                    r.name(),
                    r.ours,
                    r.paper,
                    r.check()
                )),
                Outcome::NotFinal { .. } => Some(format!("{}: not final (values from {})", r.name(), r.when())),
                _ => None,
            })
            .collect()
    }
}
