//! manifest.json of a run: where the result came from (git commit and dirty flag, burn
//! version, device, command line, replicas and their data digests) and how long it took.
//! A sweep's group run (`runs/<id>/`) is trained over several processes when a time limit
//! cuts it (the GPU calls are 10 minutes): its manifest keeps the replicas once and one
//! segment per process that trained it ([`add_segment`]), so each epoch range names its
//! binary, speed paths and card.

use std::path::Path;
use std::process::Command;

use msym_config::{Cell, ExperimentConfig};
use serde_json::{Value, json};

use crate::backend::DeviceArg;
use crate::error::CliError;

/// `git rev-parse HEAD` and whether `git status --porcelain` shows changes, in the
/// current directory; "unknown" outside a git checkout.
pub fn git_state() -> (String, Option<bool>) {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(commit) => (commit, run(&["status", "--porcelain"]).map(|s| !s.is_empty())),
        None => ("unknown".into(), None),
    }
}

/// Each replica's seeds, gamma, peak lr and the digests of its data and initial weights:
/// what `msym verify seeds` re-checks.
pub fn replicas(cells: &[ExperimentConfig]) -> Value {
    let entries: Vec<Value> = cells
        .iter()
        .map(|cell| {
            let digest = data_digest(cell);
            let weights = initial_weights_digest(cell);
            json!({"seed": cell.seed, "data_seed": cell.data_seed(), "gamma": cell.init.gamma, "lr_peak": cell.train.lr_peak, "data_digest": digest, "initial_weights_digest": weights})
        })
        .collect();
    json!(entries)
}

/// The digest of the dataset a config trains on ("" where the task cannot be generated).
pub fn data_digest(cell: &ExperimentConfig) -> String {
    anchor_data::generate(&cell.task, cell.data_seed())
        .map(|d| d.digest())
        .unwrap_or_default()
}

/// The digest of a config's initial weights (one replica). Drawn on the host from (seed,
/// tensor name), so the CPU build gives the digest of the weights that any device started
/// from (`msym verify seeds` re-checks it).
pub fn initial_weights_digest(cell: &ExperimentConfig) -> String {
    let init = [models::ReplicaInit {
        seed: cell.seed,
        gamma: cell.init.gamma,
    }];
    let model = models::build_model::<crate::backend::CpuBackend>(cell, &init, &Default::default());
    models::weights_digest(&models::read_params(&model), 0)
}

/// The GPU's name as nvidia-smi gives it ("cpu" for the CPU; "unknown-gpu" where nvidia-smi
/// does not answer).
pub fn card(device: DeviceArg) -> String {
    let DeviceArg::Cuda(i) = device else {
        return "cpu".into();
    };
    Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader", &format!("--id={i}")])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-gpu".into())
}

/// What this process is: its source, build, speed paths and command line. The paths'
/// "calls" count every layer call of the process so far (all of a sweep's workers; the
/// manifest is written after training): 0 where the backend or dtype keeps the plain ops
/// (the CPU, bf16) whatever the switch says.
pub fn process(device: &str) -> Value {
    let (commit, dirty) = git_state();
    let mut record = json!({
        "git_commit": commit,
        "git_dirty": dirty,
        // Where the binary was built (the GPU machine has no checkout, so git_commit can be
        // "unknown" there while this still names the source).
        "build_commit": env!("MSYM_BUILD_COMMIT"),
        "build_dirty": env!("MSYM_BUILD_DIRTY"),
        "build_features": crate::backend::BUILD_FEATURES,
        "device": device,
        "command": std::env::args().collect::<Vec<_>>(),
    });
    if let Value::Object(m) = &mut record {
        m.extend(crate::backend::speed_paths()); // fused_ssd, .., split_in_proj
    }
    record
}

/// One process's share of a sweep's group run, for [`add_segment`].
pub struct Segment<'a> {
    pub device: DeviceArg,
    /// The run's cells, in replica order.
    pub group: &'a [&'a Cell],
    pub epochs_from: usize,
    pub outcome: &'a trainer::Outcome,
    pub wall_seconds: f64,
}

/// Adds this process's segment to `run_dir/manifest.json`, writing the replicas (ids,
/// seeds, digests) first where the file is new. An unreadable manifest is an error, not
/// overwritten: it is the record of the segments before.
pub fn add_segment(run_dir: &Path, seg: &Segment) -> Result<(), CliError> {
    let path = run_dir.join("manifest.json");
    let mut m = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<Value>(&text).map_err(|e| {
            CliError::failed(format!(
                "{}: not a run manifest ({e}); move it away to start a new one",
                path.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let configs: Vec<ExperimentConfig> = seg.group.iter().map(|c| c.config.clone()).collect();
            let mut replicas = replicas(&configs);
            // the cell id is the content hash of its resolved config (msym_config::cell_id)
            for (entry, cell) in replicas.as_array_mut().into_iter().flatten().zip(seg.group) {
                entry["cell"] = json!(cell.id);
            }
            // a run first manifested after epoch 0 was trained before manifests (its first
            // segment's epochs_from says from where)
            let mut m = versions();
            m["replicas"] = replicas;
            m["segments"] = json!([]);
            m
        }
        Err(e) => return Err(CliError::failed(format!("cannot read {}: {e}", path.display()))),
    };
    let o = seg.outcome;
    let mut s = process(&seg.device.to_string());
    s["card"] = json!(card(seg.device));
    s["matmul_f32"] = crate::backend::matmul_f32(seg.device);
    s["started_unix"] = json!(now_unix().saturating_sub(seg.wall_seconds as u64));
    s["epochs_from"] = json!(seg.epochs_from);
    s["epochs_to"] = json!(o.epochs_done);
    s["finished"] = json!(o.finished);
    s["wall_seconds"] = json!(seg.wall_seconds);
    s["train_seconds_total"] = json!(o.train_seconds);
    match m["segments"].as_array_mut() {
        Some(segments) => segments.push(s),
        None => m["segments"] = json!([s]),
    }
    let text = serde_json::to_string_pretty(&m).expect("json");
    msym_config::write_atomic(&path, text.as_bytes())
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))
}

/// Seconds since the Unix epoch (0 on a clock before it).
fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// msym's and burn's versions, which every manifest opens with.
pub fn versions() -> Value {
    json!({
        "msym_version": env!("CARGO_PKG_VERSION"),
        "burn_version": "0.21.0",
    })
}

/// The manifest at the start of a run.
pub fn start(device: &str, replicas: Value) -> Value {
    let mut m = versions();
    for (k, v) in process(device).as_object().into_iter().flatten() {
        m[k] = v.clone();
    }
    m["started_unix"] = json!(now_unix());
    m["replicas"] = replicas;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(epochs_done: usize) -> trainer::Outcome {
        trainer::Outcome {
            finished: false,
            epochs_done,
            steps_per_epoch: 3,
            train_seconds: 1.5,
            summaries: Vec::new(),
        }
    }

    #[test]
    fn segments_append_and_an_unreadable_manifest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (o1, o2) = (outcome(4), outcome(9));
        let seg = |epochs_from, outcome| Segment {
            device: DeviceArg::Cpu,
            group: &[],
            epochs_from,
            outcome,
            wall_seconds: 2.0,
        };
        let ok = |r: Result<(), CliError>| assert!(r.is_ok(), "{:?}", r.err().map(|e| e.message));
        ok(add_segment(dir.path(), &seg(0, &o1)));
        ok(add_segment(dir.path(), &seg(4, &o2)));
        let path = dir.path().join("manifest.json");
        let m: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let spans: Vec<(u64, u64)> = m["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["epochs_from"].as_u64().unwrap(), s["epochs_to"].as_u64().unwrap()))
            .collect();
        assert_eq!(spans, [(0, 4), (4, 9)]);
        assert_eq!(m["segments"][1]["card"], "cpu");

        std::fs::write(&path, "{\"segm").unwrap();
        let Err(e) = add_segment(dir.path(), &seg(9, &o2)) else {
            panic!("an unreadable manifest was overwritten")
        };
        let err = e.message;
        assert!(
            err.contains("not a run manifest") && err.contains("move it away"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"segm", "left as it was");
    }
}
