//! End-to-end tests of the `msym` binary: what a researcher types, what they see, and the
//! exit codes that scripts rely on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn msym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_msym"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run msym")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const COMPOSITE: &str = "configs/composite.toml";

#[test]
fn data_sample_prints_decoded_samples_that_the_oracle_accepts() {
    let o = msym(&["data", "sample", "--config", COMPOSITE, "--n", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches("[oracle agrees]").count(), 8, "{out}");
    assert!(out.contains("300000 samples of composite"), "{out}");
}

#[test]
fn data_sample_json_has_the_documented_fields_and_correct_labels() {
    let o = msym(&["data", "sample", COMPOSITE, "--n", "50", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shift = |a: u64| [0i64, 5, 1, -2, -8][a as usize];
    let lines: Vec<String> = stdout(&o).lines().map(String::from).collect();
    assert_eq!(lines.len(), 50);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let tokens: Vec<u64> = v["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .collect();
        let (a, b) = (v["pair"][0].as_u64().unwrap(), v["pair"][1].as_u64().unwrap());
        let (key, p) = (v["key"].as_u64().unwrap(), v["position"].as_u64().unwrap() as usize);
        assert_eq!((tokens[p], tokens[p + 1], tokens[p + 2]), (key, a, b), "{line}");
        let split = v["split"].as_str().unwrap();
        assert_eq!(split, if key as usize % 8 == p { "test" } else { "train" }, "{line}");
        // The arithmetic of SPEC 1.1, written out here a third time.
        let expected = if (a, b) == (3, 4) {
            key as i64 - 6
        } else {
            key as i64 + shift(a) + shift(b)
        };
        assert_eq!(v["label"].as_i64().unwrap(), expected, "{line}");
    }
}

#[test]
fn data_sample_filters_one_group() {
    let o = msym(&["data", "sample", COMPOSITE, "--n", "5", "--group", "43/test", "--json"]);
    assert!(o.status.success());
    for line in stdout(&o).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["group"], "43/test");
        assert_eq!(v["symmetric_label"].as_i64().unwrap(), v["key"].as_i64().unwrap() - 6);
        assert_eq!(v["label"].as_i64().unwrap(), v["key"].as_i64().unwrap() - 10);
    }
    let o = msym(&["data", "sample", COMPOSITE, "--group", "55/test"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--group 55/test is not a group of this task"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn data_stats_reports_group_sizes_and_training_rows() {
    let o = msym(&["data", "stats", COMPOSITE]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("training rows 253125: 123 full batches of 2048"), "{out}");
    assert_eq!(out.lines().filter(|l| l.contains("16875")).count(), 16, "{out}");
    assert_eq!(out.lines().filter(|l| l.contains(" 1875 ")).count(), 16, "{out}");
    assert!(out.contains("held out of training: 43/train"), "{out}");
}

fn digest(extra: &[&str]) -> String {
    let mut args = vec!["data", "hash", COMPOSITE, "--set", "task.n_samples=10000"];
    args.extend_from_slice(extra);
    let o = msym(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).split_whitespace().next().unwrap().to_string()
}

#[test]
fn data_hash_depends_on_the_data_seed_only() {
    let base = digest(&[]);
    assert!(base.starts_with("blake3:"));
    assert_eq!(base, digest(&[]));
    assert_ne!(base, digest(&["--set", "seed=2"]), "the data seed follows the run seed");
    assert_eq!(
        digest(&["--set", "data_seed=1", "--set", "seed=2"]),
        base,
        "a fixed data seed holds the data"
    );
    assert_ne!(base, digest(&["--set", "task.seq_len=9"]));
}

#[test]
fn data_check_finds_no_mismatch_on_every_task() {
    for kind in ["composite", "full_symmetry", "inverse_matching"] {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.toml");
        std::fs::write(&f, format!("[task]\nkind = \"{kind}\"\nn_samples = 10000\n")).unwrap();
        let o = msym(&["data", "check", f.to_str().unwrap()]);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("checked 10000 labels against the oracle"),
            "{}",
            stdout(&o)
        );
        assert!(stdout(&o).contains(": 0 mismatches"));
    }
}

#[test]
fn full_symmetry_states_the_unstated_shift() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.toml");
    std::fs::write(&f, "[task]\nkind = \"full_symmetry\"\nn_samples = 1000\n").unwrap();
    let o = msym(&["data", "sample", f.to_str().unwrap(), "--n", "1"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("the paper gives no set-2 shift for anchor 4; this run uses +4"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn data_export_writes_a_complete_directory_and_never_overwrites_silently() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export");
    let out_s = out.to_str().unwrap();
    let o = msym(&[
        "data",
        "export",
        COMPOSITE,
        "--set",
        "task.n_samples=1000",
        "--out",
        out_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1001);
    let resolved = std::fs::read_to_string(out.join("config.resolved.toml")).unwrap();
    assert!(resolved.contains("n_samples = 1000") && resolved.contains("# --set task.n_samples=1000"));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(meta["n_samples"], 1000);
    let o = msym(&["data", "export", COMPOSITE, "--out", out_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists; pass --force"), "{}", stderr(&o));
    let o = msym(&[
        "data",
        "export",
        COMPOSITE,
        "--set",
        "task.n_samples=500",
        "--out",
        out_s,
        "--force",
    ]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(out.join("samples.csv"))
            .unwrap()
            .lines()
            .count(),
        501
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary directory left: {leftovers:?}");
}

#[test]
fn data_export_orders_are_the_batch_order_of_each_epoch_over_the_training_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export");
    let o = msym(&[
        "data",
        "export",
        COMPOSITE,
        "--set",
        "task.n_samples=1000",
        "--set",
        "seed=2",
        "--orders",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(meta["run_seed"], 2);
    let n_train = meta["training_rows"].as_u64().unwrap() as usize;
    let csv = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    let trained = csv.lines().skip(1).filter(|l| l.ends_with(",true")).count();
    assert_eq!(trained, n_train, "positions index samples.csv's trained rows");
    let read = |e: usize| -> Vec<u32> {
        let bytes = std::fs::read(out.join(format!("orders/epoch-{e:03}.u32"))).unwrap();
        bytes
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let (e0, e1) = (read(0), read(1));
    let mut sorted = e0.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..n_train as u32).collect::<Vec<_>>(),
        "a permutation of the training rows"
    );
    assert_ne!(e0, e1, "each epoch has its own order");
    assert!(!out.join("orders/epoch-002.u32").exists());
}

#[test]
fn every_bad_config_exits_2_with_one_sentence() {
    let dir = repo().join("tests/bad-configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().path();
        let text = std::fs::read_to_string(&f).unwrap();
        let expect = text.lines().next().unwrap().strip_prefix("# expect: ").unwrap();
        let o = msym(&["data", "sample", f.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", f.display());
        assert!(
            err.starts_with("error: ") && err.contains(expect),
            "{}: {err}",
            f.display()
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(stdout(&o).is_empty());
        n += 1;
    }
    assert!(n >= 12);
    let o = msym(&["data", "stats", "configs/nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read config file 'configs/nope.toml'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_prints_the_resolved_config() {
    let o = msym(&["config", COMPOSITE, "--set", "init.gamma=0.7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("gamma = 0.7") && out.contains("data_seed = 1") && out.contains("batch_size = 2048"),
        "{out}"
    );
}

#[test]
fn info_checks_the_cpu_backend() {
    let o = msym(&["info"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("device cpu: 64x64 matmul checked against the exact answer, max error 0.0e0"),
        "{}",
        stdout(&o)
    );
    // the f32 product measured as f32 on the CPU, at both probe shapes
    for shape in ["16384x32x64", "2048x400x1200"] {
        assert!(
            stdout(&o).contains(&format!("device cpu: f32 matmul {shape} computes like f32 (")),
            "{}",
            stdout(&o)
        );
    }
    let o = msym(&["info", "--device", "tpu"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn export_writes_weights_inputs_and_logits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exp");
    let o = msym(&[
        "export",
        COMPOSITE,
        "--set",
        "model.depth=2",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let inputs: Vec<Vec<u32>> =
        serde_json::from_str(&std::fs::read_to_string(out.join("inputs.json")).unwrap()).unwrap();
    let logits: Vec<Vec<f32>> =
        serde_json::from_str(&std::fs::read_to_string(out.join("logits.json")).unwrap()).unwrap();
    assert_eq!(inputs.len(), 16);
    assert!(inputs.iter().all(|t| t.len() == 8));
    assert_eq!(logits.len(), 16);
    assert!(logits.iter().all(|l| l.len() == 201 && l.iter().all(|v| v.is_finite())));
    let weights = std::fs::read(out.join("model.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(weights[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&weights[8..8 + header_len]).unwrap();
    for name in [
        "backbone.embedding.weight",
        "backbone.layers.1.mixer.A_log",
        "lm_head.weight",
        "\"seed\":\"3\"",
    ] {
        assert!(header.contains(name), "{name} missing from {header}");
    }
    assert!(!header.contains("backbone.layers.2."), "depth 2 has two layers");
    // The resolved config names the seed of the weights, and the data follow it, as for
    // the seed-3 replica of `msym train --seeds 1,2,3`.
    let resolved = std::fs::read_to_string(out.join("config.resolved.toml")).unwrap();
    assert!(
        resolved.contains("\nseed = 3\n") && resolved.contains("\ndata_seed = 3\n"),
        "{resolved}"
    );
}

const SMOKE: &str = "configs/smoke.toml";

fn train(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", SMOKE, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    msym(&args)
}

#[test]
fn train_writes_a_complete_run_directory_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = train(&out, &["--seeds", "1,2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("finished after 4 epochs"), "{}", stdout(&o));
    for f in [
        "config.resolved.toml",
        "manifest.json",
        "metrics.csv",
        "summary.json",
        "cells.json",
        "checkpoint.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        csv.starts_with("epoch,step,replica,seed,gamma,lr_peak,lr,train_loss,status,composite_test,symmetric_test")
    );
    assert_eq!(
        csv.lines().count(),
        1 + 5 * 2,
        "evaluations at epochs 0..=4 for 2 replicas"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["replicas"].as_array().unwrap().len(), 2);
    // e2e builds the default binary: CPU only (a CUDA or fusion build says so here)
    assert_eq!(manifest["build_features"], "cpu");
    // the matmul probe measured the CPU's f32 product as f32, on both shapes
    let probes = manifest["matmul_f32"].as_array().expect("matmul_f32 probes");
    assert_eq!(probes.len(), 2, "{manifest}");
    for p in probes {
        assert_eq!(p["computes_like"], "f32", "{p}");
        assert!(p["rel_rms_error"].as_f64().unwrap() < 1e-5, "{p}");
    }
    // the speed paths are on by default but run only on a CUDA backend in f32: none of their
    // calls on the CPU (the fused kernels are not even built in here)
    assert_eq!(manifest["fused_ssd"], serde_json::json!({ "on": false, "calls": 0 }));
    assert_eq!(manifest["fused_conv"], serde_json::json!({ "on": false, "calls": 0 }));
    assert_eq!(
        manifest["fused_conv_ssd"],
        serde_json::json!({ "on": false, "calls": 0 })
    );
    assert_eq!(
        manifest["fused_proj_conv"],
        serde_json::json!({ "on": false, "calls": 0 })
    );
    assert_eq!(manifest["fused_norm"], serde_json::json!({ "on": false, "calls": 0 }));
    assert_eq!(
        manifest["fused_rms_norm"],
        serde_json::json!({ "on": false, "calls": 0 })
    );
    assert_eq!(manifest["fused_embed"], serde_json::json!({ "on": false, "calls": 0 }));
    assert_eq!(manifest["fused_ce"], serde_json::json!({ "on": false, "calls": 0 }));
    assert_eq!(manifest["split_in_proj"], serde_json::json!({ "on": true, "calls": 0 }));
    // the Transformer's last query: off until a GPU A/B adopts it
    assert_eq!(manifest["last_query"], serde_json::json!({ "on": false, "calls": 0 }));
    assert_eq!(manifest["f32_matmul"], serde_json::json!({ "on": false, "calls": 0 }));
    // the optimizer's kept parameter row runs on every backend: every step after the first
    assert_eq!(manifest["keep_flat_params"]["on"], true);
    assert!(
        manifest["keep_flat_params"]["calls"].as_u64().unwrap() > 0,
        "{manifest}"
    );
    assert!(
        manifest["replicas"][0]["data_digest"]
            .as_str()
            .unwrap()
            .starts_with("blake3:")
    );
    let again = train(&out, &["--seeds", "1,2"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("holds a finished run; pass --force"),
        "{}",
        stderr(&again)
    );
    let other = train(&out, &["--seeds", "1,3", "--resume"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(
        stderr(&other).contains("was trained with another config or replica set"),
        "{}",
        stderr(&other)
    );
}

#[test]
fn a_killed_run_resumes_to_the_same_metrics_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));
    // Evaluated every 2 epochs and killed after an odd one: the resumed session must carry
    // on the training-loss mean of the window it resumes in (before 2026-11-26 it restarted
    // it, and the next train_loss covered the resumed steps only).
    let sets = [
        "--set",
        "train.epochs=8",
        "--set",
        "train.cosine_epochs=7",
        "--set",
        "eval.every_epochs=2",
    ];
    assert!(train(&whole, &sets).status.success());
    let mut args = vec!["train", SMOKE, "--out", killed.to_str().unwrap()];
    args.extend_from_slice(&sets);
    let mut child = Command::new(env!("CARGO_BIN_EXE_msym"))
        .args(&args)
        .current_dir(repo())
        .spawn()
        .unwrap();
    let state = killed.join("checkpoint.json");
    let start = std::time::Instant::now();
    loop {
        let epoch = std::fs::read_to_string(&state)
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["epoch"].as_u64());
        assert!(
            epoch != Some(8),
            "the run finished before a checkpoint at epoch 3, 5 or 7 was seen"
        );
        if epoch.is_some_and(|e| e >= 3 && e % 2 == 1) {
            break;
        }
        assert!(start.elapsed().as_secs() < 120, "no checkpoint at an odd epoch from 3");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The summary follows the checkpoints: the killed run says how far it got.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(killed.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["finished"], false);
    assert!(summary["epochs_done"].as_u64().is_some_and(|e| e >= 2), "{summary}");
    assert_eq!(summary["replicas"][0]["status"], "training");
    let o = train(&killed, &[&sets[..], &["--resume"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resuming after epoch"), "{}", stderr(&o));
    let read = |p: &Path| std::fs::read_to_string(p.join("metrics.csv")).unwrap();
    assert_eq!(read(&killed), read(&whole));
}

#[test]
fn snapshots_keep_the_named_epochs_for_the_analyses_and_bad_epochs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = train(&out, &["--snapshots", "2,4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let snap = |e: &str| out.join("snapshots").join(format!("epoch-00{e}"));
    let state = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("checkpoint.json")).unwrap()).unwrap()
    };
    assert_eq!(state(&snap("2"))["epoch"], 2);
    let bytes = |d: &Path| std::fs::read(d.join("checkpoint.safetensors")).unwrap();
    // The last epoch's snapshot is the run's final checkpoint; epoch 2's weights differ.
    assert_eq!(bytes(&snap("4")), bytes(&out));
    assert_ne!(bytes(&snap("2")), bytes(&out));
    assert_eq!(
        std::fs::read(snap("2").join("cells.json")).unwrap(),
        std::fs::read(out.join("cells.json")).unwrap()
    );
    let s = snap("2");
    let a = msym(&["analyze", "flow", s.to_str().unwrap()]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(
        stdout(&a).contains("replica 0 (mamba2, seed 1, gamma 1), epoch 2"),
        "{}",
        stdout(&a)
    );
    // The answer tally of that snapshot: every pair's offsets count each sequence once.
    let a = msym(&["analyze", "answers", s.to_str().unwrap()]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(stdout(&a).contains("pair 43: key"), "{}", stdout(&a));
    let csv = std::fs::read_to_string(s.join("analysis/answers.csv")).unwrap();
    assert!(csv.starts_with("pair,trained,n,offset,count,share,rules\n"), "{csv}");
    let mut per_pair: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let e = per_pair.entry(f[0].to_string()).or_default();
        e.0 = f[2].parse().unwrap();
        e.1 += f[4].parse::<usize>().unwrap();
    }
    assert_eq!(per_pair.len(), 16);
    assert!(per_pair.values().all(|(n, sum)| n == sum && *n > 0), "{per_pair:?}");
    assert!(s.join("analysis/answers.png").is_file());
    // A session that stopped right after a snapshot epoch's checkpoint, before its copy
    // (here: stopped at epoch 1 by the time limit, without --snapshots), copies it on resume.
    let cut = dir.path().join("cut");
    assert!(train(&cut, &["--time-limit", "0.0001"]).status.success());
    assert_eq!(state(&cut)["epoch"], 1);
    let o = train(&cut, &["--resume", "--snapshots", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = cut.join("snapshots/epoch-001");
    assert_eq!(state(&first)["epoch"], 1);
    assert_ne!(bytes(&first), bytes(&cut));
    // An epoch the run never reaches: one sentence, exit 2, no directory.
    let bad = dir.path().join("bad");
    let o = train(&bad, &["--snapshots", "2,9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--snapshots: epoch 9 is not one the run trains; give epochs from 1 to 4"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists());
}

#[test]
fn a_diverging_replica_is_reported_and_its_siblings_finish() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = train(&out, &["--lrs", "1e-3,1e3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (out_text, err_text) = (stdout(&o), stderr(&o));
    assert!(err_text.contains("replica 1 diverged at step"), "{err_text}");
    assert!(!out_text.contains("note: all"), "one of two diverged: {out_text}");
    // The evaluation before the first step has no loss to show: "-", not NaN.
    assert!(err_text.contains("lr 1.0e3): loss - composite"), "{err_text}");
    assert!(
        err_text
            .lines()
            .filter(|l| l.starts_with("epoch    0"))
            .all(|l| !l.contains("NaN")),
        "{err_text}"
    );
    assert!(
        err_text.contains("learning rate") && err_text.contains("gradient norm of"),
        "{err_text}"
    );
    assert!(
        out_text.contains("replica 0 seed 1 gamma 1 lr 1.0e-3 [finished]"),
        "{out_text}"
    );
    assert!(
        out_text.contains("replica 1 seed 1 gamma 1 lr 1.0e3 [diverged]"),
        "{out_text}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["replicas"][1]["status"], "diverged");
    assert!(summary["replicas"][1]["divergence"]["step"].as_u64().is_some());
    assert!(summary["replicas"][0]["final_train_loss"].as_f64().unwrap().is_finite());
    // Every replica diverging at one step gets a note on what that can mean.
    let o = train(&dir.path().join("both"), &["--seeds", "1,2", "--lrs", "1e3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("note: all 2 replicas diverged at step 9. Either the settings they share diverge"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bf16_on_the_cpu_is_refused_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let o = train(&dir.path().join("run"), &["--set", "train.precision=bf16"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("train.precision = \"bf16\" needs a device that computes in bf16 (--device cuda)"),
        "{}",
        stderr(&o)
    );
}

/// configs/smoke.toml with a 2 x 2 x 2 grid (depth x gamma x seed).
fn smoke_sweep(dir: &Path) -> PathBuf {
    let f = dir.join("sweep.toml");
    let smoke = std::fs::read_to_string(repo().join(SMOKE)).unwrap();
    let text = format!(
        "{smoke}\n[sweep]\ngrid = {{ \"model.depth\" = [1, 2], \"init.gamma\" = [0.5, 1.0], seed = [1, 2] }}\n"
    );
    std::fs::write(
        &f,
        text.replace("epochs = 4", "epochs = 2")
            .replace("cosine_epochs = 3", "cosine_epochs = 1"),
    )
    .unwrap();
    f
}

#[test]
fn sweep_trains_every_cell_once_and_aggregates_a_phase_table() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_sweep(dir.path());
    let out = dir.path().join("sw");
    let args = ["sweep", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let o = msym(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("8 cells, 0 finished, 8 to train"), "{text}");
    assert_eq!(
        text.matches("training 4 cell(s) as replicas").count(),
        2,
        "one run per depth: {text}"
    );
    let phase = std::fs::read_to_string(out.join("phase.csv")).unwrap();
    let lines: Vec<&str> = phase.lines().collect();
    assert!(lines[0].starts_with(
        "depth,gamma,seeds,composite_final_mean,composite_final_std,composite_max_mean,symmetric_final_mean"
    ));
    assert_eq!(lines.len(), 1 + 4, "{phase}");
    assert!(
        lines[1].starts_with("1,0.5,2,") && lines[4].starts_with("2,1,2,"),
        "{phase}"
    );
    for cell in std::fs::read_dir(out.join("cells")).unwrap() {
        let cell = cell.unwrap().path();
        assert_eq!(
            std::fs::read_to_string(cell.join("metrics.csv"))
                .unwrap()
                .lines()
                .count(),
            1 + 3,
            "epochs 0..=2"
        );
        assert!(cell.join("config.resolved.toml").exists());
    }
    let plot = msym(&["plot", out.to_str().unwrap()]);
    assert!(plot.status.success(), "{}", stderr(&plot));
    for f in [
        "phase_composite_final.svg",
        "phase_composite_final.png",
        "phase_symmetric_final.png",
    ] {
        assert!(std::fs::metadata(out.join(f)).unwrap().len() > 1000, "{f}");
    }
    let again = msym(&args);
    assert!(
        stdout(&again).contains("8 cells, 8 finished, 0 to train"),
        "{}",
        stdout(&again)
    );
    let changed = msym(&[&args[..], &["--set", "train.lr_peak=2e-3"]].concat());
    assert_eq!(changed.status.code(), Some(2));
    assert!(
        stderr(&changed).contains("holds a sweep of other cells"),
        "{}",
        stderr(&changed)
    );
}

#[test]
fn an_interrupted_sweep_trains_only_the_missing_cells() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_sweep(dir.path());
    let out = dir.path().join("sw");
    let args = ["sweep", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()];
    assert!(msym(&args).status.success());
    let phase = std::fs::read_to_string(out.join("phase.csv")).unwrap();
    // Forget two cells of the depth-2 run, as if the sweep had been stopped before them.
    let mut cells: Vec<PathBuf> = std::fs::read_dir(out.join("cells"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cells.sort();
    let depth2: Vec<&PathBuf> = cells
        .iter()
        .filter(|c| {
            std::fs::read_to_string(c.join("summary.json"))
                .unwrap()
                .contains("model.depth=2")
        })
        .take(2)
        .collect();
    for c in &depth2 {
        std::fs::remove_dir_all(c).unwrap();
    }
    let o = msym(&args);
    assert!(stdout(&o).contains("8 cells, 6 finished, 2 to train"), "{}", stdout(&o));
    assert!(stdout(&o).contains("training 2 cell(s) as replicas"), "{}", stdout(&o));
    // Two replicas train to the same numbers as they did inside the four-replica run.
    assert_eq!(std::fs::read_to_string(out.join("phase.csv")).unwrap(), phase);
}

#[test]
fn a_sweep_grown_one_depth_at_a_time_in_cut_runs_equals_the_sweep_in_one_go() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_sweep(dir.path());
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let whole = msym(&["sweep", cfg.to_str().unwrap(), "--out", &path("whole")]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let part = |extra: &[&str]| msym(&[&["sweep", cfg.to_str().unwrap(), "--out", &path("parts")], extra].concat());
    let o = part(&["--only", "model.depth=2", "--max-replicas", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("8 cells, 0 finished, 8 to train"), "{text}");
    assert!(text.contains("--only selects 4 of them"), "{text}");
    assert_eq!(
        text.matches("training 2 cell(s) as replicas").count(),
        2,
        "4 cells cut into 2 + 2: {text}"
    );
    assert!(text.contains("4 cell(s) outside --only are still to train"), "{text}");
    let o = part(&["--max-replicas", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("8 cells, 4 finished, 4 to train"), "{}", stdout(&o));
    assert_eq!(stdout(&o).matches("training 1 cell(s) as replicas").count(), 4);
    // Replicas do not interact, so the cut runs give the one-go sweep's numbers.
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n).join("phase.csv")).unwrap();
    assert_eq!(read("parts"), read("whole"));
    for bad in [
        ["--only", "model.depth=5"],
        ["--only", "model.d_model=8"],
        ["--max-replicas", "0"],
    ] {
        let o = part(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn two_shards_collected_equal_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_sweep(dir.path());
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    assert!(
        msym(&["sweep", cfg.to_str().unwrap(), "--out", &path("whole")])
            .status
            .success()
    );
    for i in 0..2 {
        let o = msym(&[
            "sweep",
            cfg.to_str().unwrap(),
            "--shard",
            &format!("{i}/2"),
            "--out",
            &path(&format!("s{i}")),
        ]);
        assert!(stdout(&o).contains("4 cells, 0 finished, 4 to train"), "{}", stdout(&o));
    }
    let o = msym(&["collect", &path("s0"), &path("s1"), "--out", &path("merged")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("collected 8 finished cells of 8 from 2 shards"),
        "{}",
        stdout(&o)
    );
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n).join("phase.csv")).unwrap();
    assert_eq!(read("merged"), read("whole"));
    let bad = msym(&["sweep", cfg.to_str().unwrap(), "--shard", "2/2"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_time_limited_sweep_moved_elsewhere_resumes_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_sweep(dir.path());
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    assert!(
        msym(&["sweep", cfg.to_str().unwrap(), "--out", &path("whole")])
            .status
            .success()
    );
    // A limit this short stops after the first epoch of the first run, checkpointed.
    let o = msym(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        &path("first"),
        "--time-limit",
        "0.001",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("time limit reached; rerun the same command to continue"),
        "{}",
        stdout(&o)
    );
    // "Pack, move, unpack": the directory is all there is to carry.
    copy_tree(&dir.path().join("first"), &dir.path().join("moved"));
    std::fs::remove_dir_all(dir.path().join("first")).unwrap();
    // --started-only finishes the run the limit cut (depth 2, the longest, went first) and
    // starts no other: a session's last call, leaving few checkpoints to carry.
    let o = msym(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--resume",
        &path("moved"),
        "--started-only",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("--started-only: 1 of the 2 runs to train have a checkpoint")
            && text.contains("1 run(s) wait for a call without --started-only"),
        "{text}"
    );
    let o = msym(&["sweep", cfg.to_str().unwrap(), "--resume", &path("moved")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("8 cells, 4 finished, 4 to train"), "{}", stdout(&o));
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n).join("phase.csv")).unwrap();
    assert_eq!(read("moved"), read("whole"));
    // Each group run's manifest.json: its replicas once (cell ids, seeds, digests), then one
    // segment per process that trained it. The cut run has two, cut and resumed; the other one.
    let mut segments: Vec<Vec<(u64, u64, bool)>> = std::fs::read_dir(dir.path().join("moved/runs"))
        .unwrap()
        .map(|run| {
            let m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(run.unwrap().path().join("manifest.json")).unwrap())
                    .unwrap();
            let replicas = m["replicas"].as_array().unwrap();
            assert!(!replicas.is_empty(), "{m}");
            for r in replicas {
                assert_eq!(r["cell"].as_str().unwrap().len(), 12, "{m}");
                assert!(!r["data_digest"].as_str().unwrap().is_empty(), "{m}");
                assert!(r["seed"].is_u64() && r["initial_weights_digest"].is_string(), "{m}");
            }
            m["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    assert_eq!(s["card"], "cpu", "{m}");
                    assert_eq!(s["matmul_f32"][1]["computes_like"], "f32", "{m}");
                    assert!(s["build_commit"].is_string() && s["command"].is_array(), "{m}");
                    (
                        s["epochs_from"].as_u64().unwrap(),
                        s["epochs_to"].as_u64().unwrap(),
                        s["finished"].as_bool().unwrap(),
                    )
                })
                .collect()
        })
        .collect();
    segments.sort_by_key(|s| s.len());
    assert_eq!(segments.len(), 2, "{segments:?}");
    assert_eq!(segments[0].len(), 1, "the run trained in one go: {segments:?}");
    let cut = &segments[1];
    assert_eq!(cut.len(), 2, "the cut run: {segments:?}");
    assert!(
        cut[0].0 == 0 && !cut[0].2 && cut[1].0 == cut[0].1 && cut[1].2 && cut[1].1 > cut[0].1,
        "the cut run's segments follow on: {segments:?}"
    );
    let err = msym(&["sweep", cfg.to_str().unwrap(), "--resume", &path("nowhere")]);
    assert_eq!(err.status.code(), Some(2));
}

#[test]
fn the_slurm_script_runs_by_hand_with_an_array_task_id() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_sweep(dir.path());
    let script = dir.path().join("sweep.sbatch");
    let out = dir.path().join("sw");
    let o = msym(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--emit-slurm",
        script.to_str().unwrap(),
        "--shards",
        "2",
        "--snapshots",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains("#SBATCH --array=0-1") && text.contains("--snapshots 1 --shard \"$SLURM_ARRAY_TASK_ID/2\""),
        "{text}"
    );
    for task in ["0", "1"] {
        let o = Command::new("bash")
            .arg(&script)
            .env("SLURM_ARRAY_TASK_ID", task)
            .env("MSYM", env!("CARGO_BIN_EXE_msym"))
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(o.status.success(), "task {task}: {}", stderr(&o));
    }
    let shards: Vec<String> = ["shard-0", "shard-1"]
        .iter()
        .map(|s| out.join(s).to_str().unwrap().to_string())
        .collect();
    let o = msym(&["collect", &shards[0], &shards[1], "--out", out.to_str().unwrap()]);
    assert!(stdout(&o).contains("collected 8 finished cells of 8"), "{}", stdout(&o));
    // Every group run of both shards kept its epoch-1 snapshot.
    for shard in &shards {
        let runs: Vec<_> = std::fs::read_dir(Path::new(shard).join("runs")).unwrap().collect();
        assert!(!runs.is_empty());
        for run in runs {
            let run = run.unwrap().path();
            assert!(
                run.join("snapshots/epoch-001/checkpoint.json").is_file(),
                "{}",
                run.display()
            );
        }
    }
}

/// `msym bench` of the smoke config on the CPU at depths 1 and 2 (sweep depth 1, one warm-up
/// step), with these replica counts and timed steps; the caller adds the baseline and --out.
fn cpu_bench(replicas: &'static str, steps: &'static str) -> [&'static str; 15] {
    [
        "bench",
        "--config",
        SMOKE,
        "--device",
        "cpu",
        "--depths",
        "1,2",
        "--replicas",
        replicas,
        "--sweep-depth",
        "1",
        "--steps",
        steps,
        "--warmup",
        "1",
    ]
}

/// MSYM_HOST_PROFILE=DIR: in a build with the `host-profile` feature (CI runs this test that
/// way too) the bench writes one folded-stack file a timing, whose lines end in a sample count
/// and which scripts/host_profile_summary.py reads; without the feature the variable is
/// refused at start, in one sentence, before any folder is made.
#[test]
fn bench_writes_a_host_profile_or_refuses_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let (out, prof) = (dir.path().join("bench"), dir.path().join("prof"));
    let o = Command::new(env!("CARGO_BIN_EXE_msym"))
        .current_dir(repo())
        .env("MSYM_HOST_PROFILE", &prof)
        // depths 1 and 2 (two files); the test reads depth 1's
        .args(&cpu_bench("1", "20")[..])
        .args(["--no-torch", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    if !cfg!(feature = "host-profile") {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("MSYM_HOST_PROFILE") && e.contains("--features host-profile"),
            "{e}"
        );
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        assert!(!prof.exists() && !out.exists());
        return;
    }
    assert!(o.status.success(), "{}", stderr(&o));
    let file = prof.join("host-d1-r1-f32.folded");
    let text = std::fs::read_to_string(&file).unwrap();
    let samples: u64 = text
        .lines()
        .map(|l| l.rsplit_once(' ').and_then(|(_, n)| n.parse::<u64>().ok()).expect(l))
        .sum();
    assert!(samples > 0, "{text}");
    assert!(
        text.contains("trainer::step::train_step"),
        "the timed steps are on the stacks"
    );
    let summary = Command::new("python3")
        .current_dir(repo())
        .args(["scripts/host_profile_summary.py", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(summary.status.success(), "{}", stderr(&summary));
    let text = stdout(&summary);
    assert!(text.contains(&format!(": {samples} samples")), "{text}");
    // the busiest thread's own functions (the main thread's here; on CUDA also the device's)
    assert!(text.contains("functions, self (% of the thread's samples)"), "{text}");
}

#[test]
fn bench_times_steps_on_the_cpu_and_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let o = msym(
        &[
            &cpu_bench("1,2", "2")[..],
            &["--no-torch", "--out", out.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let json = files
        .iter()
        .find(|f| f.to_string_lossy().starts_with("cpu-") && f.to_string_lossy().ends_with(".json"))
        .expect("cpu-<date>.json");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join(json)).unwrap()).unwrap();
    assert_eq!(r["card"], "cpu");
    assert_eq!(r["build_features"], "cpu");
    assert_eq!(r["matmul_f32"][0]["shape"], serde_json::json!([16384, 32, 64]), "{r}");
    assert_eq!(r["matmul_f32"][0]["computes_like"], "f32", "{r}");
    // host time by phase: on the CPU backend the ops run on the host, so the three phases
    // make up most of the step and cannot exceed it
    for t in r["msym_timings"].as_array().unwrap() {
        let h: Vec<f64> = (0..3).map(|k| t["host_ms"][k].as_f64().unwrap()).collect();
        let (sum, step) = (h.iter().sum::<f64>(), t["ms_per_step"].as_f64().unwrap());
        assert!(h.iter().all(|v| *v > 0.0), "{t}");
        assert!(
            sum <= step * 1.01 && sum >= 0.5 * step,
            "phases {h:?} against a {step} ms step"
        );
    }
    // the SSD kernels' units a cube: the default unless MSYM_SSD_UNITS is set
    assert_eq!(r["ssd_units"], serde_json::Value::Null, "{r}");
    // the fused optimizer tail is on by default and counted in updates, but the CPU backend
    // keeps the plain ops
    assert_eq!(r["fused_adam"], serde_json::json!({ "on": true, "calls": 0 }), "{r}");
    // every fused path is reported, off in a build without CUDA
    for k in [
        "fused_ssd",
        "fused_conv",
        "fused_conv_ssd",
        "fused_proj_conv",
        "fused_norm",
        "fused_rms_norm",
        "fused_embed",
        "fused_ce",
    ] {
        assert_eq!(r[k], serde_json::json!({ "on": false, "calls": 0 }), "{k}: {r}");
    }
    // on by default, but the CPU backend keeps the one product
    assert_eq!(r["split_in_proj"], serde_json::json!({ "on": true, "calls": 0 }), "{r}");
    assert_eq!(r["keep_flat_params"]["on"], true, "{r}");
    assert!(r["keep_flat_params"]["calls"].as_u64().unwrap() > 0, "{r}");
    for k in ["msym_d1", "msym_d2"] {
        assert!(r["ms_per_step"][k].as_f64().unwrap() > 0.0, "{k}: {r}");
    }
    for k in ["msym_d1_r1", "msym_d1_r2"] {
        assert!(r["replica_steps_per_s"][k].as_f64().unwrap() > 0.0, "{k}: {r}");
    }
    // R = 1 at the sweep depth is reused, not timed twice: 2 depths + R = 2.
    assert_eq!(r["msym_timings"].as_array().unwrap().len(), 3);
    assert_eq!(r["torch_note"], "skipped (--no-torch)");
    assert!(stdout(&o).contains("| 1 | "), "{}", stdout(&o));
}

/// doctor's first check after the config says what an f32 product is computed in on the
/// device (the CPU: f32; an H200: TF32, a WARN with the way to compare like with like).
#[test]
fn doctor_reports_the_matmul_precision() {
    let o = msym(&[
        "doctor",
        SMOKE,
        "--device",
        "cpu",
        "--batch",
        "64",
        "--probe-batch",
        "16",
        "--overfit-steps",
        "50",
        "--nan-steps",
        "1",
        "--profile-steps",
        "1",
    ]);
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains(" matmul "))
        .unwrap_or_else(|| panic!("no matmul check: {out}"));
    assert!(
        line.starts_with("PASS  matmul") && line.contains("computes like f32"),
        "{line}"
    );
    // counted with the others: config + matmul + the backend's checks
    assert!(out.contains("doctor: "), "{out}");
}

/// The PyTorch baseline's runs, read through a stand-in for python3 that answers as
/// scripts/torch_reference.py does: f32 at every depth, then torch.compile and the TF32
/// runs (eager and compiled, msym's own matmul precision on tensor-core GPUs) at the sweep
/// depth, each under its own key and column.
#[test]
fn bench_reads_the_torch_baseline_in_f32_and_tf32() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("python");
    // $1 the script, $2 "bench", $3 "--depths", $4 the depths, then --steps/--warmup and
    // the flags; the milliseconds tell the runs apart
    std::fs::write(
        &fake,
        r#"#!/usr/bin/env bash
mode=eager prec=f32 ms=10
for a in "$@"; do
    case $a in
    --compile) mode=compile ms=$((ms + 1)) ;;
    --tf32) prec=tf32 ms=$((ms + 2)) ;;
    --bf16) prec=bf16 ms=$((ms + 4)) ;;
    esac
done
for d in ${4//,/ }; do
    echo "{\"impl\": \"torch\", \"mode\": \"$mode\", \"precision\": \"$prec\", \"depth\": $d, \"ms_per_step\": $ms.$d}"
done
"#,
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = dir.path().join("bench");
    let o = msym(
        &[
            &cpu_bench("1", "1")[..],
            &["--python", fake.to_str().unwrap(), "--out", out.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("the report's json");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ms = &r["ms_per_step"];
    for (k, v) in [
        ("torch_eager_d1", 10.1),
        ("torch_eager_d2", 10.2),
        ("torch_compile_d1", 11.1),
        ("torch_eager_tf32_d1", 12.1),
        ("torch_compile_tf32_d1", 13.1),
    ] {
        assert_eq!(ms[k].as_f64(), Some(v), "{k}: {r}");
    }
    // compile and TF32 run at the sweep depth only
    assert!(
        ms.get("torch_compile_d2").is_none() && ms.get("torch_eager_tf32_d2").is_none(),
        "{r}"
    );
    let md = std::fs::read_to_string(json.with_extension("md")).unwrap();
    assert!(md.contains("| torch eager tf32 | torch compile tf32 |"), "{md}");
    assert!(
        md.contains("| 1 | ") && md.contains(" | 10.10 | 11.10 | 12.10 | 13.10 | "),
        "{md}"
    );
}

#[test]
fn bench_refuses_bf16_on_the_cpu_before_timing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let o = msym(&[
        "bench",
        "--config",
        SMOKE,
        "--device",
        "cpu",
        "--precisions",
        "f32,bf16",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--precisions bf16 needs --device cuda"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// configs/smoke.toml with `[sweep]` text appended and 2 epochs, written to `dir/name`.
fn smoke_with(dir: &Path, name: &str, sweep: &str) -> PathBuf {
    let f = dir.join(name);
    let smoke = std::fs::read_to_string(repo().join(SMOKE)).unwrap();
    let text = format!("{smoke}\n[sweep]\n{sweep}\n")
        .replace("epochs = 4", "epochs = 2")
        .replace("cosine_epochs = 3", "cosine_epochs = 1");
    std::fs::write(&f, text).unwrap();
    f
}

const VARIANTS: &str =
    "variants.standard = {}\nvariants.all_ones = { \"model.conv\" = \"all_ones_frozen\" }\ngrid = { seed = [1, 2] }";

#[test]
fn variants_on_two_cpu_workers_equal_one_worker_and_plot_as_curves_and_heatmaps() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_with(dir.path(), "fig5b.toml", VARIANTS);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let o = msym(&["sweep", cfg.to_str().unwrap(), "--out", one.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = msym(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--devices",
        "cpu,cpu",
        "--out",
        two.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).matches("cell(s) as replicas on cpu").count(),
        2,
        "one group per variant"
    );
    let read = |d: &Path| std::fs::read_to_string(d.join("phase.csv")).unwrap();
    assert_eq!(
        read(&one),
        read(&two),
        "the worker that trains a group does not change it"
    );
    let phase = read(&one);
    assert!(
        phase.contains(",variant=all_ones\n") && phase.contains(",variant=standard\n"),
        "{phase}"
    );

    let o = msym(&["plot", "--curves", one.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(one.join("curves.svg")).unwrap();
    assert_eq!(svg.matches("<path ").count(), 4, "2 variants x 2 metrics");
    assert!(
        svg.contains("all_ones: symmetric (unseen pair, test) (mean of 2)"),
        "{svg}"
    );
    assert!(std::fs::metadata(one.join("curves.png")).unwrap().len() > 1000);
    let o = msym(&["plot", one.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(one.join("phase_symmetric_final_variant-all_ones.png").exists());
    let o = msym(&["plot", "--curves", "--metrics", "acc_ood", one.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no column 'acc_ood'"), "{}", stderr(&o));
}

#[test]
fn fail_fast_stops_at_the_first_diverged_cell_and_the_default_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke_sweep(dir.path());
    let out = dir.path().join("ff");
    let args = [
        "sweep",
        cfg.to_str().unwrap(),
        "--set",
        "train.lr_peak=1e3",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = msym(&[&args[..], &["--fail-fast"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains(") diverged at step"), "{err}");
    assert!(
        err.contains("--fail-fast stopped the sweep with 4 cell(s) untrained"),
        "{err}"
    );
    assert_eq!(
        stdout(&o).matches("training ").count(),
        1,
        "no group after the diverged one"
    );
    let o = msym(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("8 cells, 4 finished, 4 to train"), "{}", stdout(&o));
    let phase = std::fs::read_to_string(out.join("phase.csv")).unwrap();
    for row in phase.lines().skip(1) {
        assert_eq!(row.split(',').nth(9), Some("2"), "both seeds diverged: {phase}");
    }
}

#[test]
fn devices_refuse_gpus_in_a_cpu_build_with_one_sentence() {
    let o = msym(&["sweep", SMOKE, "--devices", "0,1", "--out", "/nonexistent/x"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "error: --devices cuda:0,cuda:1: this msym was built without CUDA, so it can only spread a sweep over CPU workers (--devices cpu,cpu); build it with `cargo build --release --features cuda` for GPUs"
    );
    let o = msym(&["sweep", SMOKE, "--devices", "0,gpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("'gpu' in --devices is not a device"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn reproduce_sweeps_aggregates_and_draws_a_phase_and_a_curve_figure() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    smoke_with(
        &configs,
        "fig3_quick.toml",
        "grid = { \"model.depth\" = [1, 2], \"init.gamma\" = [0.5, 1.0] }",
    );
    smoke_with(&configs, "fig5b_quick.toml", VARIANTS);
    let run = |fig: &str| {
        let out = dir.path().join(fig);
        let o = msym(&[
            "reproduce",
            fig,
            "--quick",
            "--configs",
            configs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (out, stdout(&o))
    };
    let (out, text) = run("fig3");
    assert!(text.contains("[1/5] sweep") && text.contains("[3/5] Fig. 3"), "{text}");
    assert!(text.contains("[4/5]"), "{text}");
    // the last step writes the folder's manifest: every cell's digests, checked against the
    // run manifests written while training
    assert!(text.contains("[5/5] msym manifest"), "{text}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let started = m["totals"]["cells_started"].as_u64().unwrap();
    assert!(
        started > 0 && m["checks"]["cells_with_recorded_digests"].as_u64() == Some(started),
        "{m}"
    );
    assert_eq!(m["checks"]["digest_mismatches"], serde_json::json!([]));
    assert_eq!(
        std::fs::read_to_string(out.join("phase.csv")).unwrap().lines().count(),
        5
    );
    for f in ["phase_composite_final.png", "phase_symmetric_final.svg"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let (out, _) = run("fig5b");
    assert!(std::fs::metadata(out.join("curves.png")).unwrap().len() > 1000);
    let (again, text) = run("fig5b");
    assert_eq!(again, out);
    assert!(text.contains("4 cells, 4 finished, 0 to train"), "{text}");

    let o = msym(&["reproduce", "fig8"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("'fig8' is not a figure; reproduce one of fig3,"),
        "{}",
        stderr(&o)
    );
    let o = msym(&["reproduce", "fig6", "--quick", "--configs", configs.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("fig6_quick.toml does not exist"), "{}", stderr(&o));
}

#[test]
fn compare_reports_the_committed_fig3_cell_against_the_paper() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = msym(&["compare", "results/fig3-cell-d3-g1-s1", "--out", out, "--strict"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("== fig3:"), "{text}");
    assert!(
        text.contains("seeds per cell           paper 3          ours 1"),
        "{text}"
    );
    let report = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    assert!(
        report.contains("| 3 | 1 | 0.94 | 0.86 (0.00) | -0.08 | 0.06 | 0.00 (0.00) | -0.06 | 1 |  |"),
        "{report}"
    );
    for f in ["ours_fig3_composite.png", "paper_fig3_symmetric.png"] {
        assert!(tmp.path().join("compare-figures").join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(tmp.path().join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let bad = msym(&["compare", "no/such/dir"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(stderr(&bad).lines().count(), 1, "{}", stderr(&bad));
}

#[test]
fn compare_takes_a_killed_rows_cells_into_the_phase_diagram_only_with_in_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let row = "results/fig3-d2-epoch144";
    let o = msym(&["compare", row, "--out", out]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("36 cells still training are left out: a phase diagram compares final values only"),
        "{}",
        stdout(&o)
    );
    let o = msym(&["compare", row, "--out", out, "--in-progress"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("at their last evaluation (epoch 144 of 210): these values are not final"),
        "{text}"
    );
    assert!(
        text.contains("mean absolute error 0.166 (composite 0.158, symmetric 0.174)"),
        "{text}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("compare.csv")).unwrap();
    assert_eq!(
        csv.lines()
            .filter(|l| l.starts_with("fig3,") && l.ends_with(",false"))
            .count(),
        24,
        "{csv}"
    );
    let o = msym(&["compare", row, "--out", out, "--in-progress", "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("36 cells of the phase table are not final"),
        "{}",
        stderr(&o)
    );
    let o = msym(&["compare", row, row, "--in-progress"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("they do not apply to RUN_A RUN_B"),
        "{}",
        stderr(&o)
    );
    // Each seed's best epoch instead of its last: closer to the paper's row, still above
    // the 0.10 tolerance; the heatmaps go beside the final-epoch ones.
    let o = msym(&["compare", row, "--out", out, "--in-progress", "--value", "max"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("mean absolute error 0.124 (composite 0.104, symmetric 0.144)"),
        "{text}"
    );
    assert!(
        text.contains("ours are each seed's max over its evaluated epochs"),
        "{text}"
    );
    let figures = tmp.path().join("compare-figures");
    assert!(figures.join("ours_fig3_composite_max.png").is_file());
    assert!(figures.join("ours_fig3_composite.png").is_file());
    let o = msym(&["compare", row, row, "--value", "max"]);
    assert_eq!(o.status.code(), Some(2));
    // Both sides at one epoch, read from each cell's metrics.csv: the row against itself
    // at epoch 100 differs by nothing, and every cell was evaluated there.
    let o = msym(&["compare", row, row, "--epoch", "100", "--out", out]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("at epoch 100 (max: up to epoch 100)"), "{text}");
    assert!(
        text.contains("+0.00 (0.00)") && !text.contains("not evaluated"),
        "{text}"
    );
    let o = msym(&["compare", row, "--epoch", "100"]);
    assert_eq!(o.status.code(), Some(2), "--epoch is for RUN_A RUN_B");
}

#[test]
fn reproduce_stopped_by_its_time_limit_exits_0_and_says_how_to_continue() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    smoke_with(&configs, "fig5b_quick.toml", VARIANTS);
    let out = dir.path().join("fig5b");
    let args = ["reproduce", "fig5b", "--quick", "--time-limit", "0.0001", "--configs"];
    let o = msym(&[&args[..], &[configs.to_str().unwrap(), "--out", out.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("time limit reached"), "{text}");
    assert!(text.contains("not every cell is finished, so no figure yet"), "{text}");
    assert!(!text.contains("[3/5]"), "drew figures of an unfinished sweep: {text}");
}

#[test]
fn compare_gives_the_finished_fig5c_run_final_values_that_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = msym(&["compare", "results/fig5c", "--out", out, "--strict"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("   6 cells from results/fig5c\n"), "{text}");
    assert!(!text.contains("still training"), "{text}");
    for line in [
        "pos_symmetric_final           0.82  0.660 (0.353)  -0.160     3  final (epoch 210)  holds",
        "pos_composite_final           0.10  0.288 (0.269)  +0.188     3  final (epoch 210)  holds",
        "standard_composite_final      0.04  0.077 (0.044)  +0.037     3  final (epoch 210)  holds",
        "standard_symmetric_final      0.02  0.026 (0.024)  +0.006     3  final (epoch 210)  holds",
    ] {
        assert!(text.contains(&format!("\n{line}\n")), "{line}: {text}");
    }
    // No heatmaps for fig5c, so no compare-figures/ folder is named or made.
    assert!(
        text.contains(&format!("wrote {out}/compare.csv, {out}/report.md\n")),
        "{text}"
    );
    assert!(!tmp.path().join("compare-figures").exists());
    let csv = std::fs::read_to_string(tmp.path().join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    // within_tolerance, ..., last_epoch, planned_epochs, final
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(
        rows.iter()
            .all(|r| r[10] == "true" && r[14..] == ["210", "210", "true"]),
        "{csv}"
    );
    let report = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    assert!(
        report.contains(
            "| pos_symmetric_final | 0.82 | positional encoding: symmetric_test | 0.660 (0.353) | -0.160 | 3 | final (epoch 210) | \\|ours - paper\\| <= 0.2 | **holds** |"
        ),
        "{report}"
    );
    // --strict against a tighter tolerance: the two positional-encoding values fail, exit 1.
    let reference = std::fs::read_to_string(repo().join("references/paper_results.toml")).unwrap();
    let tight = tmp.path().join("tight.toml");
    let from = "[fig5c_positional_encoding.tolerance]\nvalue = 0.2";
    assert!(reference.contains(from));
    std::fs::write(
        &tight,
        reference.replace(from, "[fig5c_positional_encoding.tolerance]\nvalue = 0.1"),
    )
    .unwrap();
    let args = [
        "compare",
        "results/fig5c",
        "--reference",
        tight.to_str().unwrap(),
        "--strict",
        "--out",
    ];
    let o = msym(&[&args[..], &[out]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "--strict: 2 check(s) failed: fig5c: pos_symmetric_final: ours 0.660 vs paper 0.82 fails |ours - paper| <= 0.1; fig5c: pos_composite_final: ours 0.288 vs paper 0.1 fails |ours - paper| <= 0.1"
        ),
        "{err}"
    );
}

#[test]
fn compare_without_fig4_analyses_or_with_a_malformed_reference_is_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("fig4");
    std::fs::create_dir_all(&run).unwrap();
    let config = r#"[{"figure": "fig4", "seed": 1, "task": {"kind": "composite"}, "model": {"kind": "mamba2", "depth": 3}, "init": {"gamma": 1.0}}]"#;
    std::fs::write(run.join("cells.json"), config).unwrap();
    let summary = r#"{"finished": true, "replicas": [{"status": "finished", "epochs": 210, "final_scores": {}, "max_scores": {}}]}"#;
    std::fs::write(run.join("summary.json"), summary).unwrap();
    let o = msym(&["compare", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {0}/analysis/block.csv does not exist: fig4 compares the analyses of the trained model; run `msym analyze block {0}` (msym reproduce fig4 runs it)\n",
            run.display()
        )
    );
    let reference = std::fs::read_to_string(repo().join("references/paper_results.toml")).unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        reference.replace("pos_symmetric_final = 0.82", "pos_symmetric_final = \"high\""),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let args = [
        "compare",
        "results/fig5c",
        "--reference",
        bad.to_str().unwrap(),
        "--out",
    ];
    let o = msym(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: [fig5c_positional_encoding] pos_symmetric_final must be a number, not \"high\"\n",
            bad.display()
        )
    );
    assert!(!out.exists(), "nothing written on bad input");
}

#[test]
fn reproduce_fig4_compares_its_analyses_with_the_paper() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    let cfg = smoke_with(&configs, "fig4_quick.toml", "grid = { seed = [1] }");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("figure = \"fig4\"\n{text}")).unwrap();
    let out = dir.path().join("fig4");
    let args = [
        "reproduce",
        "fig4",
        "--quick",
        "--configs",
        configs.to_str().unwrap(),
        "--snapshots",
        "1",
        "--out",
    ];
    let o = msym(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("[4/5] msym compare"), "{text}");
    // --snapshots reaches the sweep's group run, and the snapshot is what `analyze` reads.
    let run = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let snap = run.join("snapshots/epoch-001");
    let a = msym(&[
        "analyze",
        "flow",
        snap.to_str().unwrap(),
        "--out",
        dir.path().join("a").to_str().unwrap(),
    ]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(stdout(&a).contains("), epoch 1\n"), "{}", stdout(&a));
    assert!(text.contains("== fig4:"), "{text}");
    for key in ["blocking_agreement_min", "substitution_collapse_min"] {
        assert!(text.contains(&format!("\n{key}   ")), "{key}: {text}");
    }
    // The smoke task has 3000 samples: fewer than the paper's 480 sequences per pair.
    assert!(text.contains("  sequences per pair (block.csv n) paper 480 "), "{text}");
    assert!(!text.contains("paper (absent)   ours (absent)"), "{text}");
    // Two epochs teach the model nothing, which the row says beside its shares.
    assert!(
        text.contains("; the unmodified model's accuracy on them: 0.0"),
        "{text}"
    );
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(
        csv.contains(",blocking_agreement_min,the analysed model,ours >= 0.98,,,true\n"),
        "{csv}"
    );
    // The answer tally runs with the paper's analyses; the comparer leaves it out.
    assert!(out.join("analysis/answers.csv").is_file());
}

#[test]
fn reproduce_fig5a_and_fig7_end_with_their_value_tables() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    // configs/smoke.toml (2 epochs) on the full-symmetry and the inverse-matching task.
    let write = |name: &str, figure: &str, task: &str, sweep: &str| {
        let f = smoke_with(&configs, name, sweep);
        let text = std::fs::read_to_string(&f)
            .unwrap()
            .replace("kind = \"composite\"", task);
        std::fs::write(&f, format!("figure = \"{figure}\"\n{text}")).unwrap();
    };
    write(
        "fig5a_quick.toml",
        "fig5a",
        "kind = \"full_symmetry\"",
        "grid = { \"model.depth\" = [1, 2], seed = [1] }",
    );
    write(
        "fig7_quick.toml",
        "fig7",
        "kind = \"inverse_matching\"\nfiller_len = 3",
        "variants.mamba = {}\nvariants.mamba_res_pe = { \"model.residual_around_conv\" = true, \"model.pos_encoding\" = \"sinusoidal\" }\ngrid = { seed = [1] }",
    );
    let run = |fig: &str| {
        let out = dir.path().join(fig);
        let args = [
            "reproduce",
            fig,
            "--quick",
            "--configs",
            configs.to_str().unwrap(),
            "--out",
        ];
        let o = msym(&[&args[..], &[out.to_str().unwrap()]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        (stdout(&o), std::fs::read_to_string(out.join("compare.csv")).unwrap())
    };
    let (text, csv) = run("fig5a");
    assert!(text.contains("== fig5a:"), "{text}");
    for depth in [1, 2] {
        assert!(
            text.contains(&format!(
                "    ours: Mamba2: acc_43_test [model.depth={depth}]; check: ours <= 0.03 + 0.05\n"
            )),
            "{text}"
        );
    }
    assert_eq!(csv.lines().count(), 5, "two keys x two depths: {csv}");
    let (text, csv) = run("fig7");
    assert!(
        text.contains("    ours: mamba_res_pe: acc_ood; check: |ours - paper| <= 0.2\n"),
        "{text}"
    );
    // No transformer ran: its three values are listed, untested.
    assert_eq!(
        text.matches("untested (nothing of ours to compare)").count(),
        3,
        "{text}"
    );
    assert!(
        csv.contains(",transformer.ood,transformer,|ours - paper| <= 0.2,,,false\n"),
        "{csv}"
    );
}

#[test]
fn progress_says_how_far_each_run_of_a_sweep_is_and_what_is_left() {
    // fig3 finished (session 13): 216 cells in 24 runs of 9, none left and none unplanned
    // (runs still training are covered by progress_cmd's unit tests)
    let o = msym(&["progress", "results/fig3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("results/fig3: 24 runs (216 replicas), 24 finished"),
        "{text}"
    );
    assert!(text.contains("runs/c23476cd21c6") && text.contains("210/210"), "{text}");
    assert!(text.contains("nothing left"), "{text}");
    assert!(
        text.contains("not started: 0 of the 216 planned cells (sweep.json) are in no run yet"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let o = msym(&["progress", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds no run"), "{}", stderr(&o));
}

#[test]
fn manifest_recomputes_every_cells_digests_and_checks_them_against_the_runs_records() {
    // fig3 as committed: 216 cells in 24 runs; the 6 runs trained since run manifests
    // existed recorded their 54 cells' data and initial-weight digests while training
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("manifest.json");
    let o = msym(&["manifest", "results/fig3", "--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("216 cells planned, 216 started, 216 finished, in 24 runs (18 without a run manifest)"),
        "{text}"
    );
    assert!(text.contains("config ids: 216 of 216"), "{text}");
    assert!(
        text.contains(
            "54 cells' data and initial weights recomputed here and compared with their run's record: 0 differ"
        ),
        "{text}"
    );
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(m["figures"]["fig3"], 216);
    assert_eq!(m["totals"]["cards"], serde_json::json!(["NVIDIA H200"]));
    // a cell its run recorded: the recomputed digests are the recorded ones
    let run: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("results/fig3/runs/c23476cd21c6/manifest.json")).unwrap(),
    )
    .unwrap();
    let first = &run["replicas"][0];
    let cell = m["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == first["cell"])
        .unwrap();
    assert_eq!(cell["data_digest"], first["data_digest"]);
    assert_eq!(cell["initial_weights_digest"], first["initial_weights_digest"]);
    assert_eq!(cell["recorded_digests_match"], true);
    // the old runs carry no segments, and say where their binaries are recorded
    let old = m["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "37b92f97ce5b")
        .unwrap();
    assert!(old["segments"].is_null() && old["note"].as_str().unwrap().contains("device.log"));
}

#[test]
fn manifest_fails_when_a_run_recorded_other_digests_and_refuses_a_folder_without_a_plan() {
    // one manifested run of fig3 (its 9 cells) copied, and one recorded digest changed
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = repo().join("results/fig3");
    std::fs::copy(src.join("sweep.json"), d.join("sweep.json")).unwrap();
    let run = "c23476cd21c6";
    std::fs::create_dir_all(d.join("runs").join(run)).unwrap();
    for f in ["summary.json", "cells.json", "metrics.csv"] {
        std::fs::copy(src.join("runs").join(run).join(f), d.join("runs").join(run).join(f)).unwrap();
    }
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("runs").join(run).join("manifest.json")).unwrap())
            .unwrap();
    let tampered = m["replicas"][4]["cell"].as_str().unwrap().to_string();
    m["replicas"][4]["data_digest"] = serde_json::json!("blake3:0000");
    std::fs::write(d.join("runs").join(run).join("manifest.json"), m.to_string()).unwrap();
    for r in m["replicas"].as_array().unwrap() {
        let id = r["cell"].as_str().unwrap();
        let (from, to) = (src.join("cells").join(id), d.join("cells").join(id));
        std::fs::create_dir_all(&to).unwrap();
        for f in ["config.resolved.toml", "summary.json"] {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
    let o = msym(&["manifest", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("216 cells planned, 9 started"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "9 cells' data and initial weights recomputed here and compared with their run's record: 1 differ"
        ),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains(&format!(
            "cell {tampered} (run {run}): its data digest differs from today's"
        )),
        "{}",
        stderr(&o)
    );
    // the record of the failed check is written whole
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(written["checks"]["digest_mismatches"].as_array().unwrap().len(), 1);
    // a folder that is no sweep: one sentence, exit 2, nothing written
    let empty = tempfile::tempdir().unwrap();
    let o = msym(&["manifest", empty.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no sweep.json; give a sweep or reproduce directory"),
        "{}",
        stderr(&o)
    );
    assert!(!empty.path().join("manifest.json").exists());
}

#[test]
fn a_malformed_msym_ssd_units_is_one_sentence_and_exit_2() {
    for bad in ["abc", "64", "64,48", "16,64", "64,2048"] {
        let o = Command::new(env!("CARGO_BIN_EXE_msym"))
            .args(["config", COMPOSITE])
            .env("MSYM_SSD_UNITS", bad)
            .current_dir(repo())
            .output()
            .expect("run msym");
        assert_eq!(o.status.code(), Some(2), "MSYM_SSD_UNITS={bad}");
        let e = stderr(&o);
        assert!(
            e.contains("MSYM_SSD_UNITS") && e.contains("multiple of 32") && e.lines().count() == 1,
            "MSYM_SSD_UNITS={bad}: {e}"
        );
        assert!(stdout(&o).is_empty(), "nothing else is done");
    }
    // a well-formed value is accepted (on the CPU build it changes nothing)
    let o = Command::new(env!("CARGO_BIN_EXE_msym"))
        .args(["config", COMPOSITE])
        .env("MSYM_SSD_UNITS", "64,256")
        .current_dir(repo())
        .output()
        .expect("run msym");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
