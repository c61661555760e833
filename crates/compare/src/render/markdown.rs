//! report.md: the same content as the terminal table, as Markdown a README can take
//! whole, with our heatmaps and the paper's side by side.

use super::values::values_markdown;
use super::{count, d2, diff_note, heatmap_files, phases, v2};
use crate::paper::{FigureComparison, PaperComparison};
use crate::runs::RunComparison;

/// `images`: the folder (relative to the report) holding the heatmap PNGs named by
/// [`heatmap_files`]; None leaves the figures out.
pub fn paper_markdown(c: &PaperComparison, images: Option<&str>) -> String {
    let mut s = format!(
        "# Reproduction report: `{}`\n\nPaper: {}.\nReference numbers: `{}`.\n\n\
         Phase-diagram values are accuracies on the unseen pair 43 (its test group), final epoch, \
         mean over seeds (std in brackets); diff = ours - paper. Single values say which score \
         and epoch they come from.\n",
        c.results.display(),
        c.citation,
        c.reference.display()
    );
    if c.pending > 0 {
        s.push_str(&format!(
            "\n{} planned sweep cells had no results yet and are left out.\n",
            c.pending
        ));
    }
    if c.in_progress > 0 {
        s.push_str(&format!(
            "\n{} cells were still training: their values are from their last evaluation and are marked not final ({}).\n",
            c.in_progress,
            phases(c)
        ));
    }
    if c.unmatched > 0 {
        s.push_str(&format!(
            "\n{} cells match none of the paper's figures (set `figure` in their config).\n",
            c.unmatched
        ));
    }
    for f in &c.figures {
        figure(&mut s, f, images);
    }
    s
}

fn figure(s: &mut String, f: &FigureComparison, images: Option<&str>) {
    s.push_str(&format!(
        "\n## {}: {}\n\nFigure {}. {}.\n",
        f.figure.id,
        f.description,
        f.figure.how,
        super::provenance(f, true)
    ));
    if let Some(note) = &f.note {
        s.push_str(&format!("\nNote: {note}.\n"));
    }
    if !f.paper_values.is_empty() {
        s.push_str("\n| paper's value | |\n|---|---|\n");
        for (k, v) in &f.paper_values {
            s.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
        }
    }
    if let (Some(dir), false) = (images, f.heatmaps.is_empty()) {
        s.push_str("\n| ours | paper |\n|---|---|\n");
        for h in &f.heatmaps {
            let (ours, paper) = heatmap_files(&h.name);
            s.push_str(&format!(
                "| ![ours: {t}]({dir}{ours}) | ![paper: {t}]({dir}{paper}) |\n",
                t = h.title
            ));
        }
    }
    cells(s, f);
    if let Some(t) = &f.values {
        values_markdown(s, t);
    }
    claims(s, f);
    assumptions(s, f);
}

/// The cell table, its errors and the tolerance verdict.
fn cells(s: &mut String, f: &FigureComparison) {
    if let Some(t) = &f.table {
        s.push_str(
            "\n### Cells\n\n| depth | gamma | composite: paper | ours | diff | symmetric: paper | ours | diff | seeds | settings |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        );
        for pair in t.diffs.chunks(2) {
            let (c, y) = (&pair[0], &pair[1]);
            s.push_str(&format!(
                "| {} | {} | {} | {} ({}) | {} | {} | {} ({}) | {} | {} | {} |\n",
                c.depth,
                c.gamma,
                v2(c.paper),
                v2(c.ours),
                v2(c.ours_std),
                d2(c.diff),
                v2(y.paper),
                v2(y.ours),
                v2(y.ours_std),
                d2(y.diff),
                c.seeds,
                c.settings
            ));
        }
        s.push_str(&format!(
            "\n{} of the paper's {} cells compared; {} of our rows lie outside its grid.",
            t.diffs.len() / 2,
            t.paper_cells,
            t.outside.len()
        ));
        if !t.diffs.is_empty() {
            s.push_str(&format!(
                " Mean absolute error {:.3} (composite {:.3}, symmetric {:.3}).\nLargest misses: {}.\n",
                t.mae(None),
                t.mae(Some("composite")),
                t.mae(Some("symmetric")),
                t.largest(3)
                    .iter()
                    .map(|d| format!(
                        "depth {} gamma {} {} {} vs {}",
                        d.depth,
                        d.gamma,
                        d.metric,
                        v2(d.ours),
                        v2(d.paper)
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if let Some(tol) = t.tolerance {
            let fails = t.tolerance_failures();
            let verdict = if fails.is_empty() {
                "all within".to_string()
            } else {
                fails.join("; ")
            };
            s.push_str(&format!(
                "\nTolerance (cell {}, MAE {}): {verdict}.\n",
                tol.cell, tol.mae
            ));
        }
    }
}

/// One line per claim: our verdict and the paper's own.
fn claims(s: &mut String, f: &FigureComparison) {
    if !f.verdicts.is_empty() {
        s.push_str("\n### Claims\n\n| claim | checked as | ours | the paper's cells |\n|---|---|---|---|\n");
        for (settings, check, ours, paper) in &f.verdicts {
            let at = if settings.is_empty() {
                String::new()
            } else {
                format!(" ({settings})")
            };
            s.push_str(&format!(
                "| {}{at} | {} | **{}** ({}) | {} ({}) |\n",
                check.claim,
                check.statement(),
                ours.word(),
                count(ours),
                paper.word(),
                count(paper)
            ));
        }
    }
}

/// The setup diff, then the choices the paper leaves open.
fn assumptions(s: &mut String, f: &FigureComparison) {
    if !f.setup.is_empty() {
        s.push_str("\n### Setup that differs from the paper's\n\n| field | paper | ours |\n|---|---|---|\n");
        for d in &f.setup {
            s.push_str(&format!("| `{}` | {} | {} |\n", d.field, d.paper, d.ours.join(", ")));
        }
    } else if f.table.is_some() || f.values.is_some() {
        s.push_str("\nSetup: every field the paper states is as the paper states it.\n");
    }
    s.push_str("\n### Where the paper is silent\n\n| choice | field | project default | ran |\n|---|---|---|---|\n");
    for d in &f.defaults {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            d.what,
            d.field.map_or("-".to_string(), |f| format!("`{f}`")),
            d.default,
            if d.ours.is_empty() {
                "-".to_string()
            } else {
                d.ours.join(", ")
            }
        ));
    }
}

pub fn runs_markdown(c: &RunComparison, a: &str, b: &str) -> String {
    let mut s = format!("# Run comparison\n\nA: `{a}`\nB: `{b}`\n\n## Config fields that differ\n\n");
    if c.fields.is_empty() {
        s.push_str("None.\n");
    } else {
        s.push_str("| field | A | B | note |\n|---|---|---|---|\n");
        for f in &c.fields {
            s.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                f.field,
                f.a.join(", "),
                f.b.join(", "),
                f.note.as_deref().unwrap_or("")
            ));
        }
    }
    let when = match c.epoch {
        Some(e) => format!("at epoch {e}, max: up to epoch {e}"),
        None => "final unless marked max".to_string(),
    };
    s.push_str(&format!(
        "\n## Metrics ({when}; mean (std) over seeds; B - A paired on the seeds both sides ran)\n\n\
         | setting | metric | A | B | B - A |\n|---|---|---:|---:|---:|\n"
    ));
    for m in &c.metrics {
        s.push_str(&format!(
            "| {} | {} | {} ({}), n={} | {} ({}), n={} | {} ({}) |\n",
            m.group,
            m.metric,
            v2(m.a.0),
            v2(m.a.1),
            m.a.2,
            v2(m.b.0),
            v2(m.b.1),
            m.b.2,
            d2(m.diff_mean),
            diff_note(m)
        ));
    }
    if c.only_a + c.only_b > 0 {
        s.push_str(&format!(
            "\nSettings trained on one side only: {} in A, {} in B.\n",
            c.only_a, c.only_b
        ));
    }
    if !c.not_final.is_empty() {
        s.push_str(match c.epoch {
            Some(_) => "\nNot evaluated at that epoch (their values are from their last evaluation before it):\n\n",
            None => "\nStill training (their values are the last evaluation's, not final):\n\n",
        });
        for n in &c.not_final {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s
}
