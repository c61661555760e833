//! The run directory's life cycle: a new run needs an empty or absent directory; a finished
//! run is never overwritten unless --force; --resume continues an unfinished run of the
//! same cells and refuses one of other cells.

use std::path::Path;

use msym_config::ExperimentConfig;

use crate::checkpoint;

pub const CELLS: &str = "cells.json";
pub const SUMMARY: &str = "summary.json";
pub const METRICS: &str = "metrics.csv";

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirMode {
    New,
    Resume,
    Force,
}

/// What training should do with the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Fresh,
    FromCheckpoint,
    AlreadyFinished,
}

fn finished(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(SUMMARY))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v["finished"] == serde_json::Value::Bool(true))
}

/// Decides how to start and prepares the directory. Errors are one sentence.
pub fn prepare(dir: &Path, mode: DirMode, cells: &[ExperimentConfig]) -> Result<Start, String> {
    let d = dir.display();
    let exists = dir.exists() && std::fs::read_dir(dir).map(|mut e| e.next().is_some()).unwrap_or(false);
    match mode {
        DirMode::Force if exists => {
            std::fs::remove_dir_all(dir).map_err(|e| format!("cannot clear {d}: {e}"))?;
        }
        DirMode::New if exists && finished(dir) => {
            return Err(format!(
                "{d} holds a finished run; pass --force to train it again, or choose another --out"
            ));
        }
        DirMode::New if exists && dir.join(checkpoint::STATE).exists() => {
            return Err(format!(
                "{d} holds an unfinished run; pass --resume to continue it, or --force to start over"
            ));
        }
        DirMode::New if exists => {
            return Err(format!(
                "{d} is not empty; choose another --out, or pass --force to replace it"
            ));
        }
        DirMode::Resume => {
            let stored: Vec<ExperimentConfig> = std::fs::read_to_string(dir.join(CELLS))
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .ok_or_else(|| format!("--resume: {d} holds no run to resume (no readable {CELLS})"))?;
            if stored != cells {
                return Err(format!(
                    "--resume: {d} was trained with another config or replica set; resume with the same config and flags, or pass --force"
                ));
            }
            if finished(dir) {
                return Ok(Start::AlreadyFinished);
            }
            return Ok(if dir.join(checkpoint::STATE).exists() {
                Start::FromCheckpoint
            } else {
                Start::Fresh
            });
        }
        _ => {}
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {d}: {e}"))?;
    let json = serde_json::to_string_pretty(cells).expect("configs serialize");
    msym_config::write_atomic(&dir.join(CELLS), json.as_bytes())
        .map_err(|e| format!("cannot write {d}/{CELLS}: {e}"))?;
    Ok(Start::Fresh)
}
