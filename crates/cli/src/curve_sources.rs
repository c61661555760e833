//! Where training curves come from: a sweep directory (each cell's metrics.csv, cells that
//! differ only in their seed drawn as one mean line) or a run directory of `msym train`
//! (its metrics.csv, one line per replica).

use std::collections::BTreeMap;
use std::path::Path;

use plots::{Group, Member, MetricsTable};

use crate::error::CliError;

/// The metrics tables of one directory, each with the line it belongs to.
pub struct Source {
    /// (line label, table, the table's replicas on that line)
    entries: Vec<(String, MetricsTable, Vec<u64>)>,
}

impl Source {
    /// The lines, in label order; members of a line are averaged.
    pub fn groups(&self) -> Vec<Group<'_>> {
        let mut by_label: BTreeMap<&str, Vec<Member<'_>>> = BTreeMap::new();
        for (label, table, replicas) in &self.entries {
            let members = by_label.entry(label).or_default();
            members.extend(replicas.iter().map(|&replica| Member { table, replica }));
        }
        by_label
            .into_iter()
            .map(|(label, members)| Group {
                label: label.to_string(),
                members,
            })
            .collect()
    }
}

fn table(path: &Path) -> Result<MetricsTable, CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    MetricsTable::parse(&text).map_err(|e| CliError::input(format!("{}: {e}", path.display())))
}

/// A cell's line: its grid settings without the seed (`variant=` shown as the bare name).
fn cell_label(sets: &[&str]) -> String {
    sets.iter()
        .filter(|s| !s.starts_with("seed="))
        .map(|s| s.strip_prefix("variant=").unwrap_or(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads a sweep directory (finished cells only) or a run directory.
pub fn read(dir: &Path) -> Result<Source, CliError> {
    let mut entries = Vec::new();
    if dir.join("cells").is_dir() {
        let cells = std::fs::read_dir(dir.join("cells"))
            .map_err(|e| CliError::input(format!("cannot read {}: {e}", dir.join("cells").display())))?;
        let mut paths: Vec<_> = cells.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for cell in paths {
            let Ok(text) = std::fs::read_to_string(cell.join("summary.json")) else {
                continue; // not finished yet
            };
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| CliError::input(format!("{}: {e}", cell.join("summary.json").display())))?;
            let sets: Vec<&str> = v["sets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str())
                .collect();
            let t = table(&cell.join("metrics.csv"))?;
            let replicas = t.replicas();
            entries.push((cell_label(&sets), t, replicas));
        }
        if entries.is_empty() {
            return Err(CliError::input(format!(
                "{}: no cell of the sweep has finished",
                dir.display()
            )));
        }
    } else if dir.join("metrics.csv").is_file() {
        let t = table(&dir.join("metrics.csv"))?;
        for r in t.replicas() {
            let field = |n: &str| t.replica_field(r, n).unwrap_or_default();
            let label = format!(
                "seed {} gamma {} lr {}",
                field("seed"),
                field("gamma"),
                field("lr_peak")
            );
            entries.push((label, t.clone(), vec![r]));
        }
    } else {
        return Err(CliError::input(format!(
            "{} holds neither a sweep (cells/) nor a run (metrics.csv)",
            dir.display()
        )));
    }
    Ok(Source { entries })
}
