//! `msym plot SWEEP_DIR`: heatmaps of the sweep's phase.csv (composite and symmetric
//! accuracy on the unseen pair, final mean over seeds; one pair of heatmaps per variant),
//! as SVG and PNG beside it. `msym plot --curves DIR...`: training curves (accuracy against
//! epoch) of sweeps or runs, several on one plot. The drawing lives in the `plots` crate.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::curve_sources;
use crate::error::CliError;

#[derive(Args)]
pub struct PlotCommand {
    /// A sweep directory (phase.csv); with --curves, sweep or run directories (metrics.csv).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Training curves (accuracy against epoch) instead of phase heatmaps.
    #[arg(long)]
    curves: bool,
    /// The metrics.csv columns drawn by --curves.
    #[arg(long, value_delimiter = ',', default_value = "composite_test,symmetric_test")]
    metrics: Vec<String>,
    /// Title of the curve plot (default: the directory names).
    #[arg(long)]
    title: Option<String>,
    /// Folder for the figures (default: the first directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(c: PlotCommand) -> Result<(), CliError> {
    let out = c.out.clone().unwrap_or_else(|| c.dirs[0].clone());
    let written = if c.curves {
        let title = c.title.clone().unwrap_or_else(|| {
            let names: Vec<String> = c.dirs.iter().map(|d| d.display().to_string()).collect();
            names.join(" vs ")
        });
        curves(&c.dirs, &c.metrics, &title, &out, "curves")?
    } else {
        if c.dirs.len() > 1 {
            return Err(CliError::input(
                "heatmaps take one sweep directory; pass --curves to draw several directories on one plot",
            ));
        }
        heatmaps(&c.dirs[0], &out)?
    };
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// Writes `stem.svg` and `stem.png` into `out`; returns their paths.
fn write_figure(out: &Path, stem: &str, svg: &str) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(out).map_err(|e| CliError::failed(format!("cannot create {}: {e}", out.display())))?;
    let png = plots::png(svg).map_err(|e| CliError::failed(format!("cannot render {stem}.png: {e}")))?;
    let mut paths = Vec::new();
    for (ext, bytes) in [("svg", svg.as_bytes()), ("png", &png[..])] {
        let p = out.join(format!("{stem}.{ext}"));
        msym_config::write_atomic(&p, bytes)
            .map_err(|e| CliError::failed(format!("cannot write {}: {e}", p.display())))?;
        paths.push(p);
    }
    Ok(paths)
}

/// A group name as part of a file name.
fn file_part(group: &str) -> String {
    group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Heatmaps of `dir/phase.csv` (composite and symmetric, one pair per variant) into `out`.
pub fn heatmaps(dir: &Path, out: &Path) -> Result<Vec<PathBuf>, CliError> {
    let path = dir.join("phase.csv");
    let text =
        std::fs::read_to_string(&path).map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    let bad = |e: String| CliError::input(format!("{}: {e}", path.display()));
    let rows = plots::parse_phase(&text).map_err(bad)?;
    if rows.is_empty() {
        return Err(CliError::input(format!(
            "{} has no rows: no cell of the sweep has finished",
            path.display()
        )));
    }
    let mut written = Vec::new();
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
        for (group, cells) in plots::heatmap_groups(&rows, metric).map_err(bad)? {
            let mut stem = format!("phase_{}", metric.trim_end_matches("_mean"));
            let mut title = title.to_string();
            if !group.is_empty() {
                stem = format!("{stem}_{}", file_part(&group));
                title = format!("{title}, {group}");
            }
            written.extend(write_figure(out, &stem, &plots::heatmap_svg(&cells, &title))?);
        }
    }
    Ok(written)
}

/// One curve plot of `metrics` over `dirs` into `out/stem.{svg,png}`.
pub fn curves(
    dirs: &[PathBuf],
    metrics: &[String],
    title: &str,
    out: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>, CliError> {
    let sources = dirs
        .iter()
        .map(|d| curve_sources::read(d))
        .collect::<Result<Vec<_>, _>>()?;
    let several = sources.len() > 1;
    let names = distinct_names(dirs);
    let mut groups = Vec::new();
    for (name, source) in names.iter().zip(&sources) {
        for g in source.groups() {
            let mut g = g;
            if several {
                g.label = if g.label.is_empty() {
                    name.clone()
                } else {
                    format!("{name} {}", g.label)
                };
            }
            groups.push(g);
        }
    }
    let curves = plots::build_curves(&groups, metrics).map_err(|e| {
        CliError::input(format!(
            "cannot draw --metrics {} from {}: {e}",
            metrics.join(","),
            dirs[0].display()
        ))
    })?;
    write_figure(out, stem, &plots::curves_svg(&curves, title, "accuracy"))
}

/// The legend name of each directory: its last path components, as few as tell them apart
/// (`results/fig4-seeds/run` and `results/fig4-torch/run` are `fig4-seeds/run` and
/// `fig4-torch/run`, where the folder name alone would call both `run`).
fn distinct_names(dirs: &[PathBuf]) -> Vec<String> {
    let parts: Vec<Vec<String>> = dirs
        .iter()
        .map(|d| {
            d.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .collect();
    let longest = parts.iter().map(Vec::len).max().unwrap_or(0);
    let tail = |p: &Vec<String>, k: usize| p[p.len().saturating_sub(k)..].join("/");
    let k = (1..=longest)
        .find(|&k| {
            let names: Vec<String> = parts.iter().map(|p| tail(p, k)).collect();
            names.iter().enumerate().all(|(i, n)| !names[..i].contains(n))
        })
        .unwrap_or(longest);
    parts.iter().map(|p| tail(p, k)).collect()
}

#[cfg(test)]
mod tests {
    use super::distinct_names;
    use std::path::PathBuf;

    fn names(dirs: &[&str]) -> Vec<String> {
        distinct_names(&dirs.iter().map(PathBuf::from).collect::<Vec<_>>())
    }

    #[test]
    fn legend_names_grow_until_the_directories_differ() {
        assert_eq!(names(&["runs/a", "runs/b"]), ["a", "b"]);
        assert_eq!(
            names(&["results/fig4-seeds/run", "results/fig4-torch/run"]),
            ["fig4-seeds/run", "fig4-torch/run"]
        );
        assert_eq!(names(&["x/run", "y/z/run"]), ["x/run", "z/run"]);
        // the same directory twice stays as it was given
        assert_eq!(names(&["a/run", "a/run"]), ["a/run", "a/run"]);
    }
}
