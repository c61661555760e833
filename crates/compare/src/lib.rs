//! `msym compare`'s engine: the paper's numbers against ours, and one result set against
//! another. No burn: it reads what runs and sweeps wrote (resolved configs, summary.json)
//! and the reference TOML, and returns tables that `render` turns into a terminal table,
//! compare.csv and report.md.
//!
//! Where the names come from (the paper's symbols):
//! - composite / symmetric: accuracy on the unseen pair 43's test group, scored against the
//!   composite label (key - 10) or the symmetric one (key - 6): `composite_test`,
//!   `symmetric_test` in summary.json.
//! - gamma: the initialization rate (`init.gamma`); depth: the number of blocks.
//! - a cell: one (depth, gamma) point of a phase diagram, the mean over seeds.

mod claims;
mod error;
mod figure;
mod flat;
mod paper;
mod phase;
mod reference;
pub mod render;
mod results;
mod runs;
mod setup;
mod stats;
mod table;

pub use claims::{Check, Lhs, Op, Quantifier, Rhs, Verdict, evaluate};
pub use error::CompareError;
pub use figure::{FigureId, identify};
pub use flat::{Flat, flatten, same_value, show};
pub use paper::{FigureComparison, Heatmap, PaperComparison, compare_to_paper};
pub use phase::{PhaseRow, aggregate};
pub use reference::{PhaseFigure, Reference, Tolerance};
pub use results::{CellResult, ResultSet, read_results};
pub use runs::{FieldDiff, MetricDiff, RunComparison, compare_runs};
pub use setup::{ProjectDefault, SetupDiff, project_defaults, setup_diff};
pub use stats::mean_std;
pub use table::{CellDiff, CellTable};
