//! Synthetic result sets: sweep cells and run directories written the way `msym sweep`
//! and `msym train` write them, with chosen accuracies.

#![allow(dead_code)]

use std::path::Path;

use serde_json::json;

/// A resolved fig3-style config (the paper's setup but `epochs`).
pub fn config(depth: u64, gamma: f64, seed: u64, epochs: u64) -> String {
    format!(
        r#"# Resolved experiment config, written by msym 0.1.0.
description = "synthetic"
seed = {seed}
data_seed = {seed}

[task]
kind = "composite"
seq_len = 8
n_samples = 300000
vocab_size = 201
anchors = [1, 2, 3, 4]
shifts = [5, 1, -2, -8]
pair_overrides = [{{ pair = [3, 4], shift = -6 }}]
unseen_pair = [4, 3]
train_weight = 9
test_weight = 1

[model]
kind = "mamba2"
depth = {depth}
d_model = 32
d_state = 128
expand = 2
d_conv = 4
conv = "learned"
pos_encoding = "none"
residual_around_conv = false
gated_residual = false

[init]
gamma = {gamma:?}
rule = "first_dim"
tied_head = false

[train]
epochs = {epochs}
lr_peak = 0.00025
"#
    )
}

/// A replica summary with final (= max) composite and symmetric accuracy.
pub fn summary(composite: f64, symmetric: f64, status: &str) -> serde_json::Value {
    let scores = json!({"composite_test": composite, "symmetric_test": symmetric, "seen_test": 1.0});
    json!({"status": status, "final_scores": scores, "max_scores": scores})
}

/// One finished sweep cell under `sweep/cells/<id>/`.
pub fn sweep_cell(sweep: &Path, id: &str, config_text: &str, composite: f64, symmetric: f64) {
    let dir = sweep.join("cells").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.resolved.toml"), config_text).unwrap();
    let s = json!({"id": id, "summary": summary(composite, symmetric, "finished")});
    std::fs::write(dir.join("summary.json"), s.to_string()).unwrap();
}

/// A run directory: one replica per (config, composite, symmetric).
pub fn run_dir(dir: &Path, replicas: &[(String, f64, f64)]) {
    std::fs::create_dir_all(dir).unwrap();
    let configs: Vec<serde_json::Value> = replicas
        .iter()
        .map(|(c, _, _)| serde_json::to_value(toml::from_str::<toml::Table>(c).unwrap()).unwrap())
        .collect();
    let summaries: Vec<serde_json::Value> = replicas.iter().map(|(_, c, s)| summary(*c, *s, "finished")).collect();
    std::fs::write(dir.join("cells.json"), serde_json::to_string(&configs).unwrap()).unwrap();
    std::fs::write(dir.join("summary.json"), json!({"replicas": summaries}).to_string()).unwrap();
}

/// The fig3-style config named as `figure`, with each `(from, to)` line text replaced (e.g.
/// `("pos_encoding = \"none\"", "pos_encoding = \"sinusoidal\"")`).
pub fn figure_config(figure: &str, depth: u64, gamma: f64, seed: u64, epochs: u64, replace: &[(&str, &str)]) -> String {
    let mut text = format!("figure = \"{figure}\"\n{}", config(depth, gamma, seed, epochs));
    for (from, to) in replace {
        assert!(text.contains(from), "{from} is not in the config");
        text = text.replace(from, to);
    }
    text
}

/// A replica summary whose final (= max) scores are `scores`, evaluated last at `epoch`.
pub fn scores_summary(scores: &[(&str, f64)], status: &str, epoch: u64) -> serde_json::Value {
    let s: serde_json::Map<String, serde_json::Value> = scores.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({"status": status, "epochs": epoch, "final_scores": s, "max_scores": s})
}

/// One finished sweep cell with the given scores, as the sweep's split writes it.
pub fn finished_cell(sweep: &Path, id: &str, config_text: &str, scores: &[(&str, f64)], epoch: u64) {
    let dir = sweep.join("cells").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.resolved.toml"), config_text).unwrap();
    let s = json!({"id": id, "summary": scores_summary(scores, "finished", epoch)});
    std::fs::write(dir.join("summary.json"), s.to_string()).unwrap();
}

/// A shape-group run stopped by its time limit at `epoch` (summary.json `finished: false`,
/// every replica "training"), as `sweep/runs/<name>/` holds it.
pub fn running_run(run: &Path, replicas: &[(String, Vec<(&str, f64)>)], epoch: u64) {
    std::fs::create_dir_all(run).unwrap();
    let configs: Vec<serde_json::Value> = replicas
        .iter()
        .map(|(c, _)| serde_json::to_value(toml::from_str::<toml::Table>(c).unwrap()).unwrap())
        .collect();
    let summaries: Vec<serde_json::Value> = replicas
        .iter()
        .map(|(_, s)| scores_summary(s, "training", epoch))
        .collect();
    std::fs::write(run.join("cells.json"), serde_json::to_string(&configs).unwrap()).unwrap();
    let summary = json!({"finished": false, "epochs_done": epoch + 3, "replicas": summaries});
    std::fs::write(run.join("summary.json"), summary.to_string()).unwrap();
}

/// sweep.json: the planned cells' ids.
pub fn plan(sweep: &Path, ids: &[&str]) {
    std::fs::create_dir_all(sweep.join("cells")).unwrap();
    let cells: Vec<serde_json::Value> = ids.iter().map(|id| json!({"id": id, "sets": []})).collect();
    std::fs::write(sweep.join("sweep.json"), serde_json::to_string(&cells).unwrap()).unwrap();
}

/// A figure's setup differences as (field, paper, ours) for comparing with literals.
pub fn setup_rows(setup: &[msym_compare::SetupDiff]) -> Vec<(&str, &str, Vec<&str>)> {
    setup
        .iter()
        .map(|d| {
            (
                d.field.as_str(),
                d.paper.as_str(),
                d.ours.iter().map(String::as_str).collect(),
            )
        })
        .collect()
}
