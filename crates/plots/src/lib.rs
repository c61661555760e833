//! The harness's figures, drawn from its CSV files: phase heatmaps from `phase.csv`,
//! training curves from `metrics.csv`, and the analyses' matrix panels and per-pair bars.
//! Every figure is an SVG document rendered to PNG with resvg and the DejaVu Sans font
//! bundled in the binary, so plotting needs no system fonts. No burn here: the crate and its
//! tests build in seconds.

mod assemble;
mod bars;
mod curves;
mod heatmap;
mod matrix;
mod metrics_csv;
mod phase_csv;
mod render;

pub use assemble::{Group, Member, build_curves};
pub use bars::{Bar, bars_svg};
pub use curves::{Curve, curves_svg, metric_label};
pub use heatmap::{HeatCell, color, heatmap_svg};
pub use matrix::{MatrixPanel, diverging_color, matrix_panels_svg};
pub use metrics_csv::{MetricsTable, mean_curve};
pub use phase_csv::{PhaseRow, heatmap_groups, parse_phase};
pub use render::png;
