//! `msym compare RESULTS [--reference F] [--strict] [--out DIR]`: our results against the
//! paper's numbers (phase diagrams cell by cell; fig4, fig5a-c and fig7 value by value);
//! `msym compare RUN_A RUN_B`: one result set against another. The work
//! is in the msym-compare crate; this module reads, renders the heatmaps and writes
//! compare.csv, report.md and the figures atomically.

use std::path::{Path, PathBuf};

use clap::Args;
use msym_compare::{Heatmap, Reference, render};

use crate::error::CliError;

/// The project's copy of the paper's numbers, built in so that `compare` works from any
/// directory; `--reference` reads another file.
const REFERENCE: &str = include_str!("../../../references/paper_results.toml");
const REFERENCE_NAME: &str = "references/paper_results.toml (built in)";
/// Folder beside report.md that holds the heatmap PNGs it embeds.
const FIGURES: &str = "compare-figures";

#[derive(Args)]
pub struct CompareCommand {
    /// RESULTS: a sweep or run directory, an analysis folder, or a folder of them; two paths compare RUN_A with RUN_B.
    #[arg(required = true, num_args = 1..=2, value_name = "RESULTS | RUN_A RUN_B")]
    paths: Vec<PathBuf>,
    /// The paper's numbers (default: the built-in references/paper_results.toml).
    #[arg(long, value_name = "FILE")]
    reference: Option<PathBuf>,
    /// Exit with code 1 when a tolerance, a claim or a value of the paper fails, or when a
    /// compared value is not final yet (its run still training).
    #[arg(long)]
    strict: bool,
    /// Put cells still training into the phase diagrams at their last evaluation, marked
    /// not final (a sweep grown over several sessions, looked at on the way; --strict then
    /// fails on them). Without it a phase diagram compares final cells only.
    #[arg(long)]
    in_progress: bool,
    /// Which accuracy of a cell a phase diagram compares: `final` (the last epoch, as the
    /// paper reports) or `max` (each seed's best epoch; a diagnostic for runs that learn a
    /// solution and lose it; heatmaps get a `_max` suffix).
    #[arg(long, value_enum, default_value = "final")]
    value: Value,
    /// RUN_A RUN_B only: compare both sides as they stood at this epoch (each replica's
    /// evaluation there, read from metrics.csv; max: up to it) instead of at their last.
    #[arg(long, value_name = "E")]
    epoch: Option<u64>,
    /// Where compare.csv, report.md and compare-figures/ go (default: RESULTS; for two
    /// runs, RUN_A/vs-<name of RUN_B>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// `--value`: which accuracy of a cell a phase diagram compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Value {
    Final,
    Max,
}

pub fn run(c: CompareCommand) -> Result<(), CliError> {
    let read = |p: &Path| msym_compare::read_results(p).map_err(|e| CliError::input(e.to_string()));
    if let [a, b] = &c.paths[..] {
        if c.strict || c.in_progress || c.value != Value::Final {
            return Err(CliError::input(
                "--strict, --in-progress and --value are about the comparison with the paper; they do not apply to RUN_A RUN_B",
            ));
        }
        // Run vs run takes cells still training too: both sides are ours, and their epochs show.
        let cells =
            |sets: Vec<msym_compare::ResultSet>| sets.iter().flat_map(|s| s.all_cells().cloned()).collect::<Vec<_>>();
        let (mut ca, mut cb) = (cells(read(a)?), cells(read(b)?));
        if let Some(e) = c.epoch {
            let at = |cells: &[msym_compare::CellResult]| {
                msym_compare::at_epoch(cells, e).map_err(|err| CliError::input(format!("--epoch {e}: {err}")))
            };
            (ca, cb) = (at(&ca)?, at(&cb)?);
        }
        let mut cmp = msym_compare::compare_runs(&ca, &cb);
        cmp.epoch = c.epoch;
        let (na, nb) = (a.display().to_string(), b.display().to_string());
        let name = b.file_name().map_or("b".into(), |n| n.to_string_lossy().into_owned());
        let out = c.out.clone().unwrap_or_else(|| a.join(format!("vs-{name}")));
        print!("{}", render::runs_text(&cmp, &na, &nb));
        write(&out, "compare.csv", render::runs_csv(&cmp).as_bytes())?;
        write(&out, "report.md", render::runs_markdown(&cmp, &na, &nb).as_bytes())?;
        println!("\nwrote {0}/compare.csv and {0}/report.md", out.display());
        return Ok(());
    }
    if c.epoch.is_some() {
        return Err(CliError::input(
            "--epoch compares two runs at one epoch (RUN_A RUN_B); against the paper, use --value final or max",
        ));
    }
    let results = &c.paths[0];
    let (reference, reference_path) = match &c.reference {
        Some(p) => (Reference::load(p), p.clone()),
        None => (
            Reference::parse(REFERENCE, Path::new(REFERENCE_NAME)),
            PathBuf::from(REFERENCE_NAME),
        ),
    };
    let reference = reference.map_err(|e| CliError::input(e.to_string()))?;
    let sets = read(results)?;
    let opts = msym_compare::PaperOptions {
        phase_in_progress: c.in_progress,
        phase_value: match c.value {
            Value::Final => msym_compare::PhaseValue::Final,
            Value::Max => msym_compare::PhaseValue::Max,
        },
    };
    let cmp = msym_compare::compare_to_paper_with(results, &sets, &reference, &reference_path, opts)
        .map_err(|e| CliError::input(e.to_string()))?;
    let out = c.out.clone().unwrap_or_else(|| results.clone());
    for h in cmp.figures.iter().flat_map(|f| &f.heatmaps) {
        draw(&out.join(FIGURES), h)?;
    }
    print!("{}", render::paper_text(&cmp));
    write(&out, "compare.csv", render::paper_csv(&cmp).as_bytes())?;
    let report = render::paper_markdown(&cmp, Some(&format!("{FIGURES}/")));
    write(&out, "report.md", report.as_bytes())?;
    // Only phase diagrams have heatmaps: name the folder when something went into it.
    let figures = if cmp.figures.iter().any(|f| !f.heatmaps.is_empty()) {
        format!(" and {}/{FIGURES}/", out.display())
    } else {
        String::new()
    };
    println!("\nwrote {0}/compare.csv, {0}/report.md{figures}", out.display());
    let failures = cmp.failures();
    if c.strict && !failures.is_empty() {
        return Err(CliError::failed(format!(
            "--strict: {} check(s) failed: {}",
            failures.len(),
            failures.join("; ")
        )));
    }
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), CliError> {
    let path = dir.join(name);
    std::fs::create_dir_all(dir)
        .and_then(|()| msym_config::write_atomic(&path, bytes))
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))
}

/// Our heatmap and the paper's, as PNGs named by `render::heatmap_files`.
fn draw(dir: &Path, h: &Heatmap) -> Result<(), CliError> {
    let (ours, paper) = render::heatmap_files(&h.name);
    let ours_cells: Vec<plots::HeatCell> = h
        .ours
        .iter()
        .map(|&(depth, gamma, value, diverged)| plots::HeatCell {
            depth,
            gamma,
            value,
            diverged,
        })
        .collect();
    let paper_cells: Vec<plots::HeatCell> = h
        .paper
        .iter()
        .map(|&(depth, gamma, value)| plots::HeatCell {
            depth,
            gamma,
            value,
            diverged: false,
        })
        .collect();
    let who = if h.ours_final { "ours" } else { "ours, not final" };
    for (file, cells, who) in [(ours, ours_cells, who), (paper, paper_cells, "paper")] {
        let svg = plots::heatmap_svg(&cells, &format!("{who}: {}", h.title));
        write(dir, &file, &plots::png(&svg).map_err(CliError::failed)?)?;
    }
    Ok(())
}
