//! The value table (figures the paper gives as single numbers) in the terminal and in
//! report.md: per paper key, the paper's number, ours (mean and std over seeds), the
//! difference, the epoch our values come from, the check and its verdict; then what the
//! paper's numbers are, what is not compared, and how each key maps to ours.

use super::v2;

/// Three decimals for ours: a share of 0.979 against the paper's 0.98 must not print as 0.98.
fn v3(x: f64) -> String {
    if x.is_nan() { "-".into() } else { format!("{x:.3}") }
}

fn d3(x: f64) -> String {
    if x.is_nan() { "-".into() } else { format!("{x:+.3}") }
}
use crate::values::{Outcome, ValueRow, ValueTable};

/// "holds", "FAILS", "not final (would hold)", "untested (no tolerance set)".
pub(crate) fn verdict(r: &ValueRow) -> String {
    match r.outcome() {
        Outcome::NotFinal { within } => {
            format!("not final (would {})", if within { "hold" } else { "fail" })
        }
        Outcome::Untested(why) => format!("untested ({why})"),
        o => o.word().to_string(),
    }
}

fn ours(r: &ValueRow) -> String {
    if r.seeds == 0 {
        "-".into()
    } else if r.ours_std.is_nan() {
        v3(r.ours)
    } else {
        format!("{} ({})", v3(r.ours), v3(r.ours_std))
    }
}

/// What of ours a row reads: "positional encoding: symmetric_test [model.pos_encoding=..]".
fn what(r: &ValueRow) -> String {
    let at = if r.settings.is_empty() {
        String::new()
    } else {
        format!(" [{}]", r.settings)
    };
    format!("{}: {}{at}", r.variant, r.metric)
}

pub(crate) fn values_text(s: &mut String, t: &ValueTable) {
    s.push_str(&format!(
        "\n{:<28} {:>5} {:>14} {:>7} {:>5}  {:<18} {}\n",
        "paper key", "paper", "ours (std)", "diff", "seeds", "values from", "verdict"
    ));
    for r in &t.rows {
        s.push_str(&format!(
            "{:<28} {:>5} {:>14} {:>7} {:>5}  {:<18} {}\n    ours: {}; check: {}\n",
            r.key,
            v2(r.paper),
            ours(r),
            d3(r.diff),
            r.seeds,
            r.when(),
            verdict(r),
            what(r),
            r.check()
        ));
        if let Some(d) = &r.detail {
            s.push_str(&format!("    {d}\n"));
        }
    }
    if t.approx {
        s.push_str("\nthe paper's values are read off its plots (approximate)\n");
    }
    if !t.context.is_empty() {
        let c: Vec<String> = t.context.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        s.push_str(&format!("not compared: {}\n", c.join(", ")));
    }
    s.push_str("\nhow the paper's values map to ours:\n");
    for m in &t.mapping {
        s.push_str(&format!("  {m}\n"));
    }
}

pub(crate) fn values_markdown(s: &mut String, t: &ValueTable) {
    s.push_str(
        "\n### Values\n\n| paper key | paper | ours: variant, score | ours (std) | diff | seeds | values from | check | verdict |\n\
         |---|---:|---|---:|---:|---:|---|---|---|\n",
    );
    for r in &t.rows {
        let detail = r.detail.as_ref().map_or(String::new(), |d| format!("<br>{d}"));
        s.push_str(&format!(
            "| {} | {} | {}{detail} | {} | {} | {} | {} | {} | **{}** |\n",
            r.key,
            v2(r.paper),
            what(r),
            ours(r),
            d3(r.diff),
            r.seeds,
            r.when(),
            // A bare | would end the table cell.
            r.check().replace('|', "\\|"),
            verdict(r)
        ));
    }
    if t.approx {
        s.push_str("\nThe paper's values are read off its plots (approximate).\n");
    }
    if !t.context.is_empty() {
        let c: Vec<String> = t.context.iter().map(|(k, v)| format!("`{k} = {v}`")).collect();
        s.push_str(&format!("\nNot compared: {}.\n", c.join(", ")));
    }
    s.push_str("\n### How the paper's values map to ours\n\n");
    for m in &t.mapping {
        s.push_str(&format!("- {m}\n"));
    }
}
