//! phase.csv: one row per (depth, gamma, other non-seed grid settings), aggregating the
//! finished cells over seeds: final and max composite / symmetric accuracy on the unseen
//! pair's test group, and how many seeds diverged.

use std::collections::BTreeMap;
use std::path::Path;

// The same mean and sample std the comparer reports beside the paper's cells.
use msym_compare::mean_std;

pub const HEADER: &str = "depth,gamma,seeds,composite_final_mean,composite_final_std,composite_max_mean,symmetric_final_mean,symmetric_final_std,symmetric_max_mean,diverged,settings";

/// Writes `out/phase.csv` from every finished cell in `out/cells/`; returns the number of rows.
pub fn write(out: &Path) -> Result<usize, String> {
    // key -> (depth, gamma, per-seed (comp_final, comp_max, sym_final, sym_max, diverged))
    type Seeds = Vec<(f64, f64, f64, f64, bool)>;
    let mut groups: BTreeMap<String, (u64, f64, Seeds)> = BTreeMap::new();
    let dirs = std::fs::read_dir(out.join("cells")).map_err(|e| format!("{}: {e}", out.join("cells").display()))?;
    for dir in dirs {
        let dir = dir.map_err(|e| e.to_string())?.path();
        let Ok(text) = std::fs::read_to_string(dir.join("summary.json")) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", dir.display()))?;
        let s = &v["summary"];
        let get = |which: &str, k: &str| s[which][k].as_f64().unwrap_or(f64::NAN);
        let sets: Vec<&str> = v["sets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str())
            .collect();
        let key = sets
            .iter()
            .filter(|x| !x.starts_with("seed="))
            .copied()
            .collect::<Vec<_>>()
            .join(";");
        let (depth, gamma) = (
            v["depth"].as_u64().unwrap_or(0),
            v["gamma"].as_f64().unwrap_or(f64::NAN),
        );
        let entry = groups.entry(key).or_insert((depth, gamma, Vec::new()));
        entry.2.push((
            get("final_scores", "composite_test"),
            get("max_scores", "composite_test"),
            get("final_scores", "symmetric_test"),
            get("max_scores", "symmetric_test"),
            s["status"] == "diverged",
        ));
    }
    let mut rows: Vec<(u64, f64, String)> = Vec::new();
    for (key, (depth, gamma, seeds)) in &groups {
        let col = |f: fn(&(f64, f64, f64, f64, bool)) -> f64| seeds.iter().map(f).collect::<Vec<f64>>();
        let (cf, cfs) = mean_std(&col(|s| s.0));
        let (cm, _) = mean_std(&col(|s| s.1));
        let (sf, sfs) = mean_std(&col(|s| s.2));
        let (sm, _) = mean_std(&col(|s| s.3));
        let diverged = seeds.iter().filter(|s| s.4).count();
        let line = format!(
            "{depth},{gamma},{},{cf:.4},{cfs:.4},{cm:.4},{sf:.4},{sfs:.4},{sm:.4},{diverged},{key}",
            seeds.len()
        );
        rows.push((*depth, *gamma, line));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    let text = std::iter::once(HEADER.to_string())
        .chain(rows.iter().map(|r| r.2.clone()))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    msym_config::write_atomic(&out.join("phase.csv"), text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(rows.len())
}
