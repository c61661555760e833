//! The terminal table: per figure the cell table (composite and symmetric side by side),
//! the error summary, the claim verdicts, the setup diff and the project's defaults.

use super::values::values_text;
use super::{count, d2, diff_note, phases, v2};
use crate::paper::{FigureComparison, PaperComparison};
use crate::runs::RunComparison;

pub fn paper_text(c: &PaperComparison) -> String {
    let mut s = format!(
        "{} vs the paper: {}\nreference: {}\n",
        c.results.display(),
        c.citation,
        c.reference.display()
    );
    if c.pending > 0 {
        s.push_str(&format!(
            "{} planned sweep cells have no results yet and are left out\n",
            c.pending
        ));
    }
    if c.in_progress > 0 {
        s.push_str(&format!(
            "{} cells are still training: values from their last evaluation, marked not final ({})\n",
            c.in_progress,
            phases(c)
        ));
    }
    if c.unmatched > 0 {
        s.push_str(&format!(
            "{} cells match none of the paper's figures (set `figure` in their config)\n",
            c.unmatched
        ));
    }
    for f in &c.figures {
        figure(&mut s, f);
    }
    s
}

fn figure(s: &mut String, f: &FigureComparison) {
    s.push_str(&format!(
        "\n== {}: {}\n   figure {}\n",
        f.figure.id, f.description, f.figure.how
    ));
    s.push_str(&format!("   {}\n", super::provenance(f, false)));
    if let Some(note) = &f.note {
        s.push_str(&format!("   {note}\n"));
    }
    for (k, v) in &f.paper_values {
        s.push_str(&format!("   paper {k} = {v}\n"));
    }
    cells(s, f);
    if let Some(t) = &f.values {
        values_text(s, t);
    }
    claims(s, f);
    assumptions(s, f);
}

/// The cell table, its errors and the tolerance verdict.
fn cells(s: &mut String, f: &FigureComparison) {
    if let Some(t) = &f.table {
        s.push_str(&format!(
            "\n{:<5} {:>5} | {:>9} {:>11} {:>6} | {:>9} {:>11} {:>6} | {:>5} {}\n",
            "depth", "gamma", "comp.pap", "comp.ours", "diff", "sym.pap", "sym.ours", "diff", "seeds", "settings"
        ));
        for pair in t.diffs.chunks(2) {
            let (c, y) = (&pair[0], &pair[1]);
            s.push_str(&format!(
                "{:<5} {:>5} | {:>9} {:>11} {:>6} | {:>9} {:>11} {:>6} | {:>5} {}\n",
                c.depth,
                c.gamma,
                v2(c.paper),
                format!("{} ({})", v2(c.ours), v2(c.ours_std)),
                d2(c.diff),
                v2(y.paper),
                format!("{} ({})", v2(y.ours), v2(y.ours_std)),
                d2(y.diff),
                c.seeds,
                c.settings
            ));
        }
        s.push_str(&format!(
            "\n{} of the paper's {} cells compared; {} of ours lie outside its grid\n",
            t.diffs.len() / 2,
            t.paper_cells,
            t.outside.len()
        ));
        if !t.diffs.is_empty() {
            s.push_str(&format!(
                "mean absolute error {:.3} (composite {:.3}, symmetric {:.3})\n",
                t.mae(None),
                t.mae(Some("composite")),
                t.mae(Some("symmetric"))
            ));
            let misses: Vec<String> = t
                .largest(3)
                .iter()
                .map(|d| {
                    format!(
                        "depth {} gamma {} {} {} vs {}",
                        d.depth,
                        d.gamma,
                        d.metric,
                        v2(d.ours),
                        v2(d.paper)
                    )
                })
                .collect();
            s.push_str(&format!("largest misses: {}\n", misses.join("; ")));
        }
        if let Some(tol) = t.tolerance {
            let fails = t.tolerance_failures();
            let verdict = if fails.is_empty() {
                "within".to_string()
            } else {
                fails.join("; ")
            };
            s.push_str(&format!("tolerance (cell {}, mae {}): {verdict}\n", tol.cell, tol.mae));
        }
    }
}

/// One line per claim: our verdict and the paper's own.
fn claims(s: &mut String, f: &FigureComparison) {
    if !f.verdicts.is_empty() {
        s.push_str("\nclaims (ours | the paper's own cells):\n");
        for (settings, check, ours, paper) in &f.verdicts {
            let at = if settings.is_empty() {
                String::new()
            } else {
                format!(" [{settings}]")
            };
            s.push_str(&format!(
                "  {:<8} {:<16} | {} {}: {}{at}\n           {}\n",
                ours.word(),
                count(ours),
                paper.word(),
                count(paper),
                check.claim,
                check.statement()
            ));
        }
    }
}

/// The setup diff, then the choices the paper leaves open.
fn assumptions(s: &mut String, f: &FigureComparison) {
    if !f.setup.is_empty() {
        s.push_str("\nsetup that differs from the paper's:\n");
        for d in &f.setup {
            s.push_str(&format!(
                "  {:<24} paper {:<10} ours {}\n",
                d.field,
                d.paper,
                d.ours.join(", ")
            ));
        }
    } else if f.table.is_some() || f.values.is_some() {
        s.push_str("\nsetup: every field the paper states is as the paper states it\n");
    }
    s.push_str("\nwhere the paper is silent (the project's choice, and what ran):\n");
    for d in &f.defaults {
        let ran = if d.ours.is_empty() {
            String::new()
        } else {
            format!(" -> ran: {}", d.ours.join(", "))
        };
        let field = d.field.map_or(String::new(), |f| format!(" [{f}]"));
        s.push_str(&format!("  {}{field}: {}{ran}\n", d.what, d.default));
    }
}

pub fn runs_text(c: &RunComparison, a: &str, b: &str) -> String {
    let mut s = format!("A = {a}\nB = {b}\n\nconfig fields that differ:\n");
    if c.fields.is_empty() {
        s.push_str("  none\n");
    }
    for f in &c.fields {
        let note = f.note.as_ref().map_or(String::new(), |n| format!("  ({n})"));
        s.push_str(&format!(
            "  {:<24} A: {:<12} B: {}{note}\n",
            f.field,
            f.a.join(", "),
            f.b.join(", ")
        ));
    }
    if let Some(e) = c.epoch {
        s.push_str(&format!("\nat epoch {e} (max: up to epoch {e})\n"));
    }
    s.push_str(&format!(
        "\n{:<28} {:<20} {:>18} {:>18} {:>16}\n",
        "setting", "metric", "A mean (std)", "B mean (std)", "B - A (std)"
    ));
    for m in &c.metrics {
        s.push_str(&format!(
            "{:<28} {:<20} {:>18} {:>18} {:>16}\n",
            m.group,
            m.metric,
            format!("{} ({}) n{}", v2(m.a.0), v2(m.a.1), m.a.2),
            format!("{} ({}) n{}", v2(m.b.0), v2(m.b.1), m.b.2),
            format!("{} ({})", d2(m.diff_mean), diff_note(m)),
        ));
    }
    if c.only_a + c.only_b > 0 {
        s.push_str(&format!(
            "\nsettings trained on one side only: {} in A, {} in B\n",
            c.only_a, c.only_b
        ));
    }
    if !c.not_final.is_empty() {
        s.push_str(match c.epoch {
            Some(_) => "\nnot evaluated at that epoch (values from their last evaluation before it):\n",
            None => "\nstill training (values from the last evaluation, not final):\n",
        });
        for n in &c.not_final {
            s.push_str(&format!("  {n}\n"));
        }
    }
    s
}
