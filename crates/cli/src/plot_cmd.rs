//! `msym plot SWEEP_DIR`: heatmaps of the sweep's phase.csv (composite and symmetric
//! accuracy on the unseen pair, final mean over seeds), as SVG and PNG beside it.

use std::path::PathBuf;

use clap::Args;

use crate::error::CliError;
use crate::plot::{HeatCell, heatmap_svg, png};

#[derive(Args)]
pub struct PlotCommand {
    /// A sweep directory holding phase.csv.
    dir: PathBuf,
}

pub fn run(c: PlotCommand) -> Result<(), CliError> {
    let path = c.dir.join("phase.csv");
    let text =
        std::fs::read_to_string(&path).map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| CliError::input(format!("{} has no column '{name}'", path.display())))
    };
    let (depth, gamma, diverged) = (col("depth")?, col("gamma")?, col("diverged")?);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for (metric, title) in [
        (
            "composite_final_mean",
            "composite accuracy on pair 43 (final, mean over seeds)",
        ),
        (
            "symmetric_final_mean",
            "symmetric accuracy on pair 43 (final, mean over seeds)",
        ),
    ] {
        let m = col(metric)?;
        let cells: Vec<HeatCell> = rows
            .iter()
            .map(|r| HeatCell {
                depth: r[depth].parse().unwrap_or(0),
                gamma: r[gamma].parse().unwrap_or(f64::NAN),
                value: r[m].parse().unwrap_or(f64::NAN),
                diverged: r[diverged].parse::<usize>().unwrap_or(0) > 0,
            })
            .collect();
        let svg = heatmap_svg(&cells, title);
        let stem = format!("phase_{}", metric.trim_end_matches("_mean"));
        let write = |ext: &str, bytes: &[u8]| {
            let p = c.dir.join(format!("{stem}.{ext}"));
            msym_config::write_atomic(&p, bytes)
                .map_err(|e| CliError::failed(format!("cannot write {}: {e}", p.display())))
        };
        write("svg", svg.as_bytes())?;
        write("png", &png(&svg).map_err(CliError::failed)?)?;
        println!("wrote {}/{stem}.svg and .png", c.dir.display());
    }
    Ok(())
}
