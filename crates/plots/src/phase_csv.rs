//! Reading phase.csv (crates/cli/src/phase.rs writes it) and splitting it into heatmaps: one
//! per setting of the grid's other fields (e.g. one per `[sweep] variants` entry), each
//! over depth x gamma.

use std::collections::BTreeMap;

use crate::heatmap::HeatCell;

/// One row of phase.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseRow {
    pub depth: u64,
    pub gamma: f64,
    /// Every numeric column by name (composite_final_mean, ...).
    pub values: BTreeMap<String, f64>,
    /// Seeds that diverged.
    pub diverged: u64,
    /// The grid settings of the row, `;`-separated (`init.gamma=0.5;model.depth=2`).
    pub settings: String,
}

/// Parses phase.csv text.
pub fn parse_phase(text: &str) -> Result<Vec<PhaseRow>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().ok_or("it is empty")?.split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("it has no column '{name}'"))
    };
    let (depth, gamma, diverged) = (col("depth")?, col("gamma")?, col("diverged")?);
    let settings = header.iter().position(|h| *h == "settings");
    lines
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != header.len() {
                return Err(format!(
                    "row {} has {} fields where the header has {}",
                    i + 2,
                    f.len(),
                    header.len()
                ));
            }
            let number = |c: usize| {
                f[c].parse::<f64>()
                    .map_err(|_| format!("row {}: '{}' is not a number", i + 2, f[c]))
            };
            Ok(PhaseRow {
                depth: number(depth)? as u64,
                gamma: number(gamma)?,
                values: header
                    .iter()
                    .zip(&f)
                    .filter_map(|(h, v)| v.parse().ok().map(|v| (h.to_string(), v)))
                    .collect(),
                diverged: number(diverged)? as u64,
                settings: settings.map(|c| f[c].to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// The settings of a row other than depth and gamma: the name of its heatmap.
fn group_of(settings: &str) -> String {
    settings
        .split(';')
        .filter(|s| !s.is_empty() && !s.starts_with("model.depth=") && !s.starts_with("init.gamma="))
        .collect::<Vec<_>>()
        .join(";")
}

/// One heatmap of `metric` per group of rows (empty name: the sweep has no other fields).
pub fn heatmap_groups(rows: &[PhaseRow], metric: &str) -> Result<Vec<(String, Vec<HeatCell>)>, String> {
    let mut groups: BTreeMap<String, Vec<HeatCell>> = BTreeMap::new();
    for r in rows {
        let value = *r
            .values
            .get(metric)
            .ok_or_else(|| format!("it has no column '{metric}'"))?;
        let cells = groups.entry(group_of(&r.settings)).or_default();
        if cells.iter().any(|c| c.depth == r.depth && c.gamma == r.gamma) {
            return Err(format!(
                "it has two rows for depth {} and gamma {} with the same other settings ('{}')",
                r.depth, r.gamma, r.settings
            ));
        }
        cells.push(HeatCell {
            depth: r.depth,
            gamma: r.gamma,
            value,
            diverged: r.diverged > 0,
        });
    }
    Ok(groups.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHASE: &str = "depth,gamma,seeds,composite_final_mean,composite_final_std,composite_max_mean,symmetric_final_mean,symmetric_final_std,symmetric_max_mean,diverged,settings\n\
        2,0.5,2,0.1000,0.0100,0.2000,0.0500,0.0000,0.0600,0,init.gamma=0.5;model.depth=2;variant=a\n\
        2,1,2,0.9000,0.0100,0.9500,0.0100,0.0000,0.0200,1,init.gamma=1.0;model.depth=2;variant=a\n\
        2,0.5,2,0.3000,0.0100,0.4000,0.7000,0.0000,0.8000,0,init.gamma=0.5;model.depth=2;variant=b\n";

    #[test]
    fn rows_split_into_one_heatmap_per_other_setting() {
        let rows = parse_phase(PHASE).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[1].depth, rows[1].gamma, rows[1].diverged), (2, 1.0, 1));
        let groups = heatmap_groups(&rows, "symmetric_final_mean").unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(names, ["variant=a", "variant=b"]);
        assert_eq!(groups[0].1.len(), 2);
        assert!(groups[0].1[1].diverged && groups[0].1[1].value == 0.01);
        assert_eq!(groups[1].1[0].value, 0.7);
    }

    #[test]
    fn a_plain_depth_gamma_grid_is_one_heatmap_and_bad_files_say_why() {
        let plain = PHASE.replace(";variant=a", "").replace(";variant=b", ";task.seq_len=9");
        let groups = heatmap_groups(&parse_phase(&plain).unwrap(), "composite_final_mean").unwrap();
        assert_eq!(
            groups.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
            ["", "task.seq_len=9"]
        );
        let dup = PHASE.replace("variant=b", "variant=a");
        let err = heatmap_groups(&parse_phase(&dup).unwrap(), "composite_final_mean").unwrap_err();
        assert!(err.contains("two rows for depth 2 and gamma 0.5"), "{err}");
        assert_eq!(parse_phase("").unwrap_err(), "it is empty");
        assert_eq!(parse_phase("gamma,x\n").unwrap_err(), "it has no column 'depth'");
        let err = heatmap_groups(&parse_phase(PHASE).unwrap(), "acc_ood").unwrap_err();
        assert_eq!(err, "it has no column 'acc_ood'");
    }
}
