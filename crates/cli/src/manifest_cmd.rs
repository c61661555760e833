//! `msym manifest DIR`: one record of where a sweep or reproduce directory's results came
//! from, for publishing them (issue 10). For every planned cell: its grid settings, seeds,
//! whether its id is still the content hash of its resolved config, and the digests of its
//! data and initial weights, recomputed here from that config and checked against the
//! digests its run recorded while training. For every run: replicas, epochs, training time,
//! and the segments of its own manifest.json (binary, card, speed paths, epochs, wall time);
//! a run without one (trained before run manifests existed) is marked so.
//! Writes DIR/manifest.json (or --out); exit 1 when a recorded digest differs from today's,
//! so a published folder cannot silently stop matching the code that reads its configs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use crate::error::CliError;
use crate::json_file::read_json;
use crate::manifest;

#[derive(Args)]
pub struct ManifestCommand {
    /// A sweep or reproduce directory: its sweep.json, cells/<id>/ and runs/<id>/.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Where the manifest goes (default: DIR/manifest.json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The digests a run recorded for one of its cells while training.
struct Recorded {
    run: String,
    data: String,
    init: String,
}

/// sweep.json: the planned cells' ids and grid settings, in plan order.
fn read_plan(dir: &Path) -> Result<Vec<(String, Value)>, CliError> {
    let path = dir.join("sweep.json");
    if !path.is_file() {
        return Err(CliError::input(format!(
            "{}: no sweep.json; give a sweep or reproduce directory (msym sweep --out, msym reproduce --out)",
            dir.display()
        )));
    }
    let plan = read_json(&path)?;
    let cells = plan
        .as_array()
        .ok_or_else(|| CliError::input(format!("{}: not a list of cells", path.display())))?;
    cells
        .iter()
        .map(|c| match c["id"].as_str() {
            Some(id) => Ok((id.to_string(), c["sets"].clone())),
            None => Err(CliError::input(format!("{}: a cell without an id", path.display()))),
        })
        .collect()
}

/// The kept fields of one segment of a run manifest (its command line and the per-path
/// call counts are left in the run's own file).
fn segment_record(seg: &Value) -> Value {
    let keys = [
        "build_commit",
        "build_dirty",
        "build_features",
        "card",
        "device",
        "epochs_from",
        "epochs_to",
        "finished",
        "wall_seconds",
        "train_seconds_total",
        "started_unix",
    ];
    let mut out: serde_json::Map<String, Value> = keys
        .iter()
        .filter_map(|k| seg.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    // the speed paths as on/off only
    let paths: serde_json::Map<String, Value> = seg
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.get("on").map(|on| (k.clone(), on.clone())))
        .collect();
    out.insert("speed_paths".into(), Value::Object(paths));
    // what the f32 matmul computed like, per probed shape (segments since session 14)
    if let Some(probes) = seg.get("matmul_f32") {
        let like = match probes.as_array() {
            Some(ps) => json!(ps.iter().map(|p| p["computes_like"].clone()).collect::<Vec<_>>()),
            None => probes.clone(), // the probe's error
        };
        out.insert("matmul_f32".into(), like);
    }
    Value::Object(out)
}

/// runs/<id>/ (trainer::rundir's files): each run's record, and the digests its manifest recorded, by cell id.
fn read_runs(dir: &Path) -> Result<(Vec<Value>, HashMap<String, Recorded>), CliError> {
    let mut names: Vec<PathBuf> = match std::fs::read_dir(dir.join("runs")) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let (mut runs, mut recorded) = (Vec::new(), HashMap::new());
    for path in names {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let summary = trainer::run::read_summary_file(&path).map_err(CliError::input)?;
        let manifest_path = path.join("manifest.json");
        let segments = if manifest_path.is_file() {
            let m = read_json(&manifest_path)?;
            for r in m["replicas"].as_array().into_iter().flatten() {
                if let (Some(cell), Some(data), Some(init)) = (
                    r["cell"].as_str(),
                    r["data_digest"].as_str(),
                    r["initial_weights_digest"].as_str(),
                ) {
                    let rec = Recorded {
                        run: name.clone(),
                        data: data.into(),
                        init: init.into(),
                    };
                    recorded.insert(cell.to_string(), rec);
                }
            }
            json!(
                m["segments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(segment_record)
                    .collect::<Vec<_>>()
            )
        } else {
            Value::Null
        };
        let mut run = json!({
            "id": name,
            "replicas": summary.replicas.len(),
            "finished": summary.finished,
            "epochs_done": summary.epochs_done,
            "train_seconds": summary.train_seconds,
            "segments": segments,
        });
        if segments.is_null() {
            run["note"] = json!(
                "no manifest.json in this run (trained before run manifests, or not kept with it): its binary and card are not recorded here; see the folder's device.log"
            );
        }
        runs.push(run);
    }
    Ok((runs, recorded))
}

pub fn run(c: ManifestCommand) -> Result<(), CliError> {
    write(&c.dir, c.out)
}

/// Writes `dir`'s manifest to `out` (default dir/manifest.json) and prints what it found;
/// also `msym reproduce`'s last step.
pub fn write(dir: &Path, out_file: Option<PathBuf>) -> Result<(), CliError> {
    let plan = read_plan(dir)?;
    let (runs, recorded) = read_runs(dir)?;
    // One dataset per (task, data seed): a fig3 sweep has 216 cells and 3 datasets.
    let mut datasets: HashMap<(String, u64), String> = HashMap::new();
    let (mut cells, mut mismatches) = (Vec::new(), Vec::new());
    let (mut ids_match, mut checked, mut started) = (0usize, 0usize, 0usize);
    let mut by_figure: BTreeMap<String, usize> = BTreeMap::new();
    for (id, sets) in &plan {
        let cell_dir = dir.join("cells").join(id);
        let config_path = cell_dir.join("config.resolved.toml");
        if !config_path.is_file() {
            cells.push(json!({"id": id, "sets": sets, "status": "not started"}));
            continue;
        }
        started += 1;
        let cfg = msym_config::load(&config_path, &[]).map_err(|e| CliError::input(e.to_string()))?;
        let id_matches = msym_config::cell_id(&cfg) == *id;
        if let Some(f) = &cfg.figure {
            *by_figure.entry(f.clone()).or_default() += 1;
        }
        ids_match += usize::from(id_matches);
        let key = (
            serde_json::to_string(&cfg.task).expect("configs serialize"),
            cfg.data_seed(),
        );
        let data = datasets
            .entry(key)
            .or_insert_with(|| manifest::data_digest(&cfg))
            .clone();
        let init = manifest::initial_weights_digest(&cfg);
        let summary = read_json(&cell_dir.join("summary.json")).ok();
        let pick = |k: &str| summary.as_ref().map_or(Value::Null, |s| s["summary"][k].clone());
        let mut cell = json!({
            "id": id,
            "sets": sets,
            "config_id_matches": id_matches,
            "seed": cfg.seed,
            "data_seed": cfg.data_seed(),
            "data_digest": data,
            "initial_weights_digest": init,
            "run": summary.as_ref().map_or(Value::Null, |s| s["run"].clone()),
            "status": pick("status"),
            "epochs": pick("epochs"),
        });
        if let Some(rec) = recorded.get(id) {
            checked += 1;
            let same = rec.data == data && rec.init == init;
            cell["recorded_digests_match"] = json!(same);
            if !same {
                let which = match (rec.data == data, rec.init == init) {
                    (false, false) => "data and initial weights",
                    (false, true) => "data",
                    _ => "initial weights",
                };
                mismatches.push(format!(
                    "cell {id} (run {}): its {which} digest differs from today's",
                    rec.run
                ));
            }
        }
        cells.push(cell);
    }
    let segments = || runs.iter().flat_map(|r| r["segments"].as_array().into_iter().flatten());
    let set_of = |k: &str| -> BTreeSet<String> { segments().filter_map(|s| s[k].as_str().map(String::from)).collect() };
    let finished = cells.iter().filter(|c| c["status"] == "finished").count();
    let train_seconds: f64 = runs.iter().filter_map(|r| r["train_seconds"].as_f64()).sum();
    let unrecorded = runs.iter().filter(|r| r["segments"].is_null()).count();
    let mut out = manifest::versions();
    let process = manifest::process("cpu");
    let who = ["git_commit", "git_dirty", "build_commit", "build_dirty", "command"];
    out["written_by"] = json!(
        who.iter()
            .map(|k| (k.to_string(), process[*k].clone()))
            .collect::<serde_json::Map<_, _>>()
    );
    out["directory"] = json!(dir.display().to_string());
    out["figures"] = json!(by_figure);
    out["totals"] = json!({
        "cells_planned": plan.len(),
        "cells_started": started,
        "cells_finished": finished,
        "runs": runs.len(),
        "runs_without_manifest": unrecorded,
        "train_seconds": train_seconds,
        "cards": set_of("card"),
        "build_commits": set_of("build_commit"),
    });
    out["checks"] = json!({
        "config_ids_matching": ids_match,
        "cells_with_recorded_digests": checked,
        "digest_mismatches": mismatches,
    });
    out["cells"] = json!(cells);
    out["runs"] = json!(runs);
    let path = out_file.unwrap_or_else(|| dir.join("manifest.json"));
    let text = serde_json::to_string_pretty(&out).expect("json") + "\n";
    msym_config::write_atomic(&path, text.as_bytes())
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "{}: {} cells planned, {started} started, {finished} finished, in {} runs ({unrecorded} without a run manifest); {:.2} h of training",
        dir.display(),
        plan.len(),
        runs.len(),
        train_seconds / 3600.0
    );
    println!("config ids: {ids_match} of {started} are the hash of their resolved config today");
    println!(
        "digests: {checked} cells' data and initial weights recomputed here and compared with their run's record: {} differ",
        mismatches.len()
    );
    println!("wrote {}", path.display());
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "{} cell(s) no longer match what their run recorded, first: {}",
            mismatches.len(),
            mismatches[0]
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_keeps_the_matmul_verdicts_and_the_paths_on_off() {
        let seg = json!({
            "card": "NVIDIA H200",
            "command": ["msym", "sweep"],
            "fused_ssd": { "on": true, "calls": 12 },
            "matmul_f32": [
                { "shape": [16384, 32, 64], "computes_like": "tf32", "rel_rms_error": 2.6e-4 },
                { "shape": [2048, 400, 1200], "computes_like": "f32", "rel_rms_error": 3e-7 }
            ]
        });
        let r = segment_record(&seg);
        assert_eq!(r["matmul_f32"], json!(["tf32", "f32"]));
        assert_eq!(r["speed_paths"], json!({ "fused_ssd": true }));
        assert_eq!(r["card"], "NVIDIA H200");
        assert!(r.get("command").is_none());
        // a failed probe is kept as its error; a segment before the probe has no field
        let failed = segment_record(&json!({ "matmul_f32": { "error": "device cuda:0 failed" } }));
        assert_eq!(failed["matmul_f32"]["error"], "device cuda:0 failed");
        assert!(segment_record(&json!({ "card": "cpu" })).get("matmul_f32").is_none());
    }
}
