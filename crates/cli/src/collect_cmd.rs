//! `msym collect SHARD_DIR... --out DIR`: merges the cells of sweep shards (from
//! `msym sweep --shard i/n` or a Slurm array) into one sweep directory and writes its
//! phase.csv.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::CliError;
use crate::phase;

#[derive(Args)]
pub struct CollectCommand {
    /// Sweep directories to merge.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

pub fn run(c: CollectCommand) -> Result<(), CliError> {
    let io = |p: &Path, e: std::io::Error| CliError::failed(format!("{}: {e}", p.display()));
    let mut plan: Vec<serde_json::Value> = Vec::new();
    let mut copied = 0;
    for shard in &c.shards {
        let text = std::fs::read_to_string(shard.join("sweep.json"))
            .map_err(|_| CliError::input(format!("{} is not a sweep directory (no sweep.json)", shard.display())))?;
        let entries: Vec<serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| CliError::input(format!("{}: {e}", shard.display())))?;
        for entry in entries {
            let id = entry["id"].as_str().unwrap_or_default().to_string();
            if plan.iter().any(|p| p["id"] == entry["id"]) {
                continue;
            }
            let from = shard.join("cells").join(&id);
            if from.join("summary.json").exists() {
                copy_dir(&from, &c.out.join("cells").join(&id)).map_err(|e| io(&from, e))?;
                copied += 1;
            }
            plan.push(entry);
        }
    }
    let text = serde_json::to_string_pretty(&plan).expect("json");
    msym_config::write_atomic(&c.out.join("sweep.json"), text.as_bytes()).map_err(|e| io(&c.out, e))?;
    let rows = phase::write(&c.out).map_err(CliError::failed)?;
    println!(
        "collected {copied} finished cells of {} from {} shards into {}; phase.csv: {rows} rows",
        plan.len(),
        c.shards.len(),
        c.out.display()
    );
    Ok(())
}
