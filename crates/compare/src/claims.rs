//! The paper's claims as decidable statements: over the cells of a gamma and depth range,
//! `lhs op rhs` must hold in every / most / almost every cell.

use serde::Deserialize;

/// Which accuracy a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lhs {
    Composite,
    Symmetric,
    /// The larger of the two ("neither solution is learned" is max < threshold).
    Max,
}

impl Lhs {
    fn of(self, composite: f64, symmetric: f64) -> f64 {
        match self {
            Lhs::Composite => composite,
            Lhs::Symmetric => symmetric,
            Lhs::Max => composite.max(symmetric),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Lhs::Composite => "composite",
            Lhs::Symmetric => "symmetric",
            Lhs::Max => "max(composite, symmetric)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A threshold or the other accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Rhs {
    Number(f64),
    Metric(Lhs),
}

/// How many of the selected cells the statement must hold in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    /// All of them.
    Every,
    /// More than half.
    Most,
    /// At least 90%.
    AlmostEvery,
}

impl Quantifier {
    fn satisfied(self, k: usize, n: usize) -> bool {
        match self {
            Quantifier::Every => k == n,
            Quantifier::Most => 2 * k > n,
            Quantifier::AlmostEvery => 10 * k >= 9 * n,
        }
    }
}

/// One claim of a figure, with the statement that decides it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The paper's sentence.
    pub claim: String,
    /// Inclusive gamma range; absent: the figure's whole range.
    pub gamma: Option<[f64; 2]>,
    /// Inclusive depth range; absent: the figure's whole range.
    pub depth: Option<[u64; 2]>,
    pub lhs: Lhs,
    pub op: Op,
    pub rhs: Rhs,
    pub quantifier: Quantifier,
}

impl Check {
    /// The statement as text, e.g. "every cell with gamma in [0, 0.4]: max(...) < 0.2".
    pub fn statement(&self) -> String {
        let q = match self.quantifier {
            Quantifier::Every => "every cell",
            Quantifier::Most => "most cells",
            Quantifier::AlmostEvery => ">= 90% of cells",
        };
        let mut range = String::new();
        if let Some([lo, hi]) = self.gamma {
            range.push_str(&format!(" with gamma in [{lo}, {hi}]"));
        }
        if let Some([lo, hi]) = self.depth {
            range.push_str(&format!(" with depth in [{lo}, {hi}]"));
        }
        let rhs = match self.rhs {
            Rhs::Number(x) => x.to_string(),
            Rhs::Metric(m) => m.name().to_string(),
        };
        format!("{q}{range}: {} {} {rhs}", self.lhs.name(), self.op.symbol())
    }
}

/// The outcome of a check on a set of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// None: no cell in range, so nothing was tested.
    pub holds: Option<bool>,
    /// Cells where the statement is true, of the `cells` in range.
    pub true_in: usize,
    pub cells: usize,
    /// (depth, gamma) of the cells where it is false.
    pub false_at: Vec<(u64, f64)>,
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self.holds {
            Some(true) => "holds",
            Some(false) => "FAILS",
            None => "untested",
        }
    }
}

/// Decides `check` on cells (depth, gamma, composite, symmetric); `gamma_range` and
/// `depth_range` are the figure's, used where the check names none.
pub fn evaluate(
    check: &Check,
    cells: &[(u64, f64, f64, f64)],
    gamma_range: [f64; 2],
    depth_range: [u64; 2],
) -> Verdict {
    let [g0, g1] = check.gamma.unwrap_or(gamma_range);
    let [d0, d1] = check.depth.unwrap_or(depth_range);
    let eps = 1e-9;
    let selected: Vec<_> = cells
        .iter()
        .filter(|c| c.1 >= g0 - eps && c.1 <= g1 + eps && c.0 >= d0 && c.0 <= d1)
        .collect();
    let false_at: Vec<(u64, f64)> = selected
        .iter()
        .filter(|(_, _, comp, sym)| {
            let rhs = match check.rhs {
                Rhs::Number(x) => x,
                Rhs::Metric(m) => m.of(*comp, *sym),
            };
            !check.op.holds(check.lhs.of(*comp, *sym), rhs)
        })
        .map(|c| (c.0, c.1))
        .collect();
    let n = selected.len();
    let k = n - false_at.len();
    Verdict {
        holds: (n > 0).then(|| check.quantifier.satisfied(k, n)),
        true_in: k,
        cells: n,
        false_at,
    }
}
