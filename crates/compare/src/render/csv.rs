//! compare.csv: one row per compared value, full precision, for further analysis.

use crate::paper::PaperComparison;
use crate::runs::RunComparison;

/// RFC 4180 quoting where a field needs it.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(x: f64) -> String {
    if x.is_nan() { String::new() } else { format!("{x:.4}") }
}

pub const PAPER_HEADER: &str =
    "figure,settings,depth,gamma,metric,paper,ours_mean,ours_std,seeds,diff,within_tolerance";

/// One row per (figure, settings, depth, gamma, metric) in the paper's grid.
pub fn paper_csv(c: &PaperComparison) -> String {
    let mut out = vec![PAPER_HEADER.to_string()];
    for f in &c.figures {
        let Some(t) = &f.table else { continue };
        for d in &t.diffs {
            let within = t.tolerance.map_or(String::new(), |tol| d.within(&tol).to_string());
            out.push(format!(
                "{},{},{},{},{},{},{},{},{},{},{within}",
                field(&f.figure.id),
                field(&d.settings),
                d.depth,
                d.gamma,
                d.metric,
                d.paper,
                num(d.ours),
                num(d.ours_std),
                d.seeds,
                num(d.diff),
            ));
        }
    }
    out.join("\n") + "\n"
}

pub const RUNS_HEADER: &str = "group,metric,a_mean,a_std,a_seeds,b_mean,b_std,b_seeds,diff_mean,diff_std";

/// One row per (setting, metric) trained on both sides; diff = B - A.
pub fn runs_csv(c: &RunComparison) -> String {
    let mut out = vec![RUNS_HEADER.to_string()];
    for m in &c.metrics {
        out.push(format!(
            "{},{},{},{},{},{},{},{},{},{}",
            field(&m.group),
            field(&m.metric),
            num(m.a.0),
            num(m.a.1),
            m.a.2,
            num(m.b.0),
            num(m.b.1),
            m.b.2,
            num(m.diff_mean),
            m.diff_std.map_or(String::new(), num),
        ));
    }
    out.join("\n") + "\n"
}
