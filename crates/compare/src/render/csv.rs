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

/// The first eleven columns are the phase cells'; the rest say, for single values, which
/// reference key and variant a row compares, the check, and the epoch the values come from
/// (`final` = every seed's training is over).
pub const PAPER_HEADER: &str = "figure,settings,depth,gamma,metric,paper,ours_mean,ours_std,seeds,diff,within_tolerance,paper_key,variant,check,last_epoch,planned_epochs,final";

/// One row per (figure, settings, depth, gamma, metric) in the paper's grid, then one per
/// single value of the paper (and setting of ours).
pub fn paper_csv(c: &PaperComparison) -> String {
    let mut out = vec![PAPER_HEADER.to_string()];
    for f in &c.figures {
        if let Some(t) = &f.table {
            for d in &t.diffs {
                let within = t.tolerance.map_or(String::new(), |tol| d.within(&tol).to_string());
                let check = t
                    .tolerance
                    .map_or(String::new(), |tol| format!("|ours - paper| <= {}", tol.cell));
                out.push(format!(
                    "{},{},{},{},{},{},{},{},{},{},{within},{},,{},,,{}",
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
                    d.metric,
                    field(&check),
                    d.is_final,
                ));
            }
        }
        for r in f.values.iter().flat_map(|v| &v.rows) {
            out.push(format!(
                "{},{},,,{},{},{},{},{},{},{},{},{},{},{},{},{}",
                field(&f.figure.id),
                field(&r.settings),
                field(&r.metric),
                r.paper,
                num(r.ours),
                num(r.ours_std),
                r.seeds,
                num(r.diff),
                r.within().map_or(String::new(), |w| w.to_string()),
                field(&r.key),
                field(&r.variant),
                field(&r.check()),
                r.epochs.map_or(String::new(), |e| e.0.to_string()),
                r.planned.map_or(String::new(), |p| p.to_string()),
                r.is_final,
            ));
        }
    }
    out.join("\n") + "\n"
}

pub const RUNS_HEADER: &str = "group,metric,a_mean,a_std,a_seeds,b_mean,b_std,b_seeds,diff_mean,diff_std,paired_seeds";

/// One row per (setting, metric) trained on both sides; diff = B - A.
pub fn runs_csv(c: &RunComparison) -> String {
    let mut out = vec![RUNS_HEADER.to_string()];
    for m in &c.metrics {
        out.push(format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
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
            m.paired.iter().map(u64::to_string).collect::<Vec<_>>().join(" "),
        ));
    }
    out.join("\n") + "\n"
}
