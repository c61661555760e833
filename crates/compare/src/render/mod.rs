//! The three outputs of a comparison: a terminal table, compare.csv and report.md. Each is
//! a pure function of the comparison, so tests can read them exactly.

mod csv;
mod markdown;
mod text;
mod values;

pub use csv::{paper_csv, runs_csv};
pub use markdown::{paper_markdown, runs_markdown};
pub use text::{paper_text, runs_text};

/// The image files of a heatmap pair, relative to the report: (ours, paper).
pub fn heatmap_files(name: &str) -> (String, String) {
    (format!("ours_{name}.png"), format!("paper_{name}.png"))
}

/// A value with two decimals, as the paper prints its cells; "-" for NaN.
pub(crate) fn v2(x: f64) -> String {
    if x.is_nan() { "-".into() } else { format!("{x:.2}") }
}

/// A signed difference with two decimals.
pub(crate) fn d2(x: f64) -> String {
    if x.is_nan() { "-".into() } else { format!("{x:+.2}") }
}

/// What goes in brackets after a run comparison's B - A: its std over the paired seeds,
/// the seeds when only some of each side's are paired (so a one-seed spot check is not read
/// as a mean over the sweep's seeds), or "unpaired".
pub(crate) fn diff_note(m: &crate::MetricDiff) -> String {
    let Some(sd) = m.diff_std else {
        return "unpaired".into();
    };
    let k = m.paired.len();
    if k == m.a.2 && k == m.b.2 {
        return v2(sd);
    }
    let seeds = m.paired.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    match k {
        1 => format!("seed {seeds} only"),
        _ => format!("{}; seeds {seeds} only", v2(sd)),
    }
}

/// Which cells a verdict is about, e.g. "3/3 cells" or "no cell in range".
pub(crate) fn count(v: &crate::Verdict) -> String {
    if v.cells == 0 {
        "no cell in range".into()
    } else {
        format!("{}/{} cells", v.true_in, v.cells)
    }
}

/// Where the cells still training went in the phase diagrams.
pub(crate) fn phases(c: &crate::PaperComparison) -> &'static str {
    if c.phase_in_progress {
        "phase diagrams include them, --in-progress"
    } else {
        "phase diagrams leave them out"
    }
}

/// "6 cells from DIR (6 still training)", or "from DIR" for analyses alone; `quote` puts
/// the paths in backticks (Markdown).
pub(crate) fn provenance(f: &crate::FigureComparison, quote: bool) -> String {
    let q = if quote { "`" } else { "" };
    let sources: Vec<String> = f.sources.iter().map(|p| format!("{q}{}{q}", p.display())).collect();
    let running = match (f.in_progress, f.table.is_some()) {
        (0, _) => String::new(),
        (n, true) if f.interim() == 0 => format!(" ({n} still training, left out)"),
        (n, true) => format!(" ({n} still training, not final)"),
        (n, false) => format!(" ({n} still training)"),
    };
    if f.cells == 0 {
        format!("from {}{running}", sources.join(", "))
    } else {
        format!("{} cells from {}{running}", f.cells, sources.join(", "))
    }
}
