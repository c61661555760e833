//! From metrics tables to the lines of a curve plot: each group of runs (a variant, a
//! sweep cell over its seeds, one replica of a run) is drawn as the mean of its members,
//! one line per metric, one colour per group.

use crate::curves::{Curve, metric_label};
use crate::metrics_csv::{MetricsTable, mean_curve};

/// One replica of one metrics table.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub table: &'a MetricsTable,
    pub replica: u64,
}

/// A named group of members, drawn as their mean.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    pub label: String,
    pub members: Vec<Member<'a>>,
}

/// The curves of `metrics` for every group: colour = group, dash = metric. The legend says
/// how many members a mean is over, and leaves out the group name when there is one group.
pub fn build_curves(groups: &[Group<'_>], metrics: &[String]) -> Result<Vec<Curve>, String> {
    let mut out = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for (m, metric) in metrics.iter().enumerate() {
            let mut lines = Vec::new();
            for member in &group.members {
                let mut curves = member.table.curves(metric)?;
                lines.push(
                    curves
                        .remove(&member.replica)
                        .ok_or_else(|| format!("it has no replica {}", member.replica))?,
                );
            }
            let mut label = metric_label(metric);
            if groups.len() > 1 {
                label = format!("{}: {label}", group.label);
            }
            if lines.len() > 1 {
                label.push_str(&format!(" (mean of {})", lines.len()));
            }
            out.push(Curve {
                label,
                points: mean_curve(&lines),
                color: g,
                dash: m,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(values: &[(u64, &[f64])]) -> MetricsTable {
        let mut text = String::from("epoch,replica,composite_test,symmetric_test\n");
        for (replica, v) in values {
            for (e, x) in v.iter().enumerate() {
                text.push_str(&format!("{e},{replica},{x},{}\n", 1.0 - x));
            }
        }
        MetricsTable::parse(&text).unwrap()
    }

    #[test]
    fn groups_are_colours_metrics_are_dashes_and_members_are_averaged() {
        let (a, b, c) = (
            table(&[(0, &[0.0, 0.5])]),
            table(&[(3, &[0.5, 1.0])]),
            table(&[(0, &[0.2, 0.2]), (1, &[0.4, 0.4])]),
        );
        let groups = [
            Group {
                label: "standard".into(),
                members: vec![Member { table: &a, replica: 0 }, Member { table: &b, replica: 3 }],
            },
            Group {
                label: "all_ones".into(),
                members: vec![Member { table: &c, replica: 1 }],
            },
        ];
        let metrics = ["composite_test".to_string(), "symmetric_test".to_string()];
        let curves = build_curves(&groups, &metrics).unwrap();
        assert_eq!(curves.len(), 4);
        assert_eq!(curves[0].label, "standard: composite (unseen pair, test) (mean of 2)");
        assert_eq!(curves[0].points, vec![(0.0, 0.25), (1.0, 0.75)]);
        assert_eq!((curves[1].color, curves[1].dash), (0, 1));
        assert_eq!(curves[3].label, "all_ones: symmetric (unseen pair, test)");
        assert_eq!(curves[3].points, vec![(0.0, 0.6), (1.0, 0.6)]);
        let one = build_curves(&groups[1..], &metrics[..1]).unwrap();
        assert_eq!(one[0].label, "composite (unseen pair, test)");
        let err = build_curves(&groups, &["acc_ood".to_string()]).unwrap_err();
        assert!(err.contains("no column 'acc_ood'"), "{err}");
    }
}
