//! `msym compare`'s engine: the paper's numbers against ours, and one result set against
//! another. No burn: it reads what runs and sweeps wrote (resolved configs, summary.json,
//! the analyses' CSVs) and the reference TOML, and returns tables that `render` turns into
//! a terminal table, compare.csv and report.md.
//!
//! Where the names come from (the paper's symbols):
//! - composite / symmetric: accuracy on the unseen pair 43's test group, scored against the
//!   composite label (key - 10) or the symmetric one (key - 6): `composite_test`,
//!   `symmetric_test` in summary.json.
//! - gamma: the initialization rate (`init.gamma`); depth: the number of blocks.
//! - a cell: one (depth, gamma) point of a phase diagram, the mean over seeds.
//! - a value: one number the paper gives for a figure without a phase diagram (fig4's
//!   minimum shares, fig5's and fig7's final accuracies); targets.rs maps each to ours.

mod analysis;
mod claims;
mod error;
mod fig4;
mod figure;
mod flat;
mod paper;
mod phase;
mod phase_compare;
mod reference;
mod reference_values;
pub mod render;
mod results;
mod run_metrics;
mod runs;
mod setup;
mod stats;
mod sweep;
mod table;
mod targets;
mod values;
mod variants;

pub use analysis::{Analysis, PairShare, parse_shares};
pub use claims::{Check, Lhs, Op, Quantifier, Rhs, Verdict, evaluate};
pub use error::CompareError;
pub use figure::{FigureId, identify};
pub use flat::{Flat, flatten, same_value, show};
pub use paper::{
    FigureComparison, Heatmap, PaperComparison, PaperOptions, PhaseValue, compare_to_paper, compare_to_paper_with,
};
pub use phase::{PhaseRow, aggregate};
pub use reference::{PhaseFigure, Reference, Tolerance};
pub use reference_values::{ValueFigure, ValueTolerance};
pub use results::{CellResult, ResultSet, at_epoch, read_results};
pub use runs::{FieldDiff, MetricDiff, RunComparison, compare_runs};
pub use setup::{ProjectDefault, SetupDiff, project_defaults, setup_diff};
pub use stats::mean_std;
pub use table::{CellDiff, CellTable};
pub use targets::{Bound, FIGURES as VALUE_FIGURES, FigureTargets, Target, Variant, figure_targets};
pub use values::{Outcome, ValueRow, ValueTable};
