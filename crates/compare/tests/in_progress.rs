//! Cells still training. A run killed before it wrote any summary.json (binaries before
//! 2026-11-26 wrote it only when a session ended) is read from its metrics.csv: each
//! replica's last evaluation and the maximum over evaluations; a row cut off by the kill is
//! left out, and a malformed file is one sentence naming it. A phase diagram leaves such
//! cells out, unless asked to take them in, and then says which values are not final.

mod common;

use std::path::Path;

use msym_compare::{PaperOptions, Reference, compare_to_paper_with, read_results};

const HEADER: &str =
    "epoch,step,replica,seed,gamma,lr_peak,lr,train_loss,status,composite_test,symmetric_test,seen_test";

/// seed, status, last epoch, composite (final, max), symmetric (final, max)
type Replica<'a> = (u64, &'a str, Option<u64>, f64, f64, f64, f64);

/// A shape-group run as the trainer leaves it when killed: cells.json and metrics.csv only.
fn killed_run(run: &Path, metrics: &str) {
    std::fs::create_dir_all(run).unwrap();
    let configs: Vec<serde_json::Value> = [1, 2]
        .into_iter()
        .map(|seed| {
            serde_json::to_value(toml::from_str::<toml::Table>(&common::config(2, 1.0, seed, 210)).unwrap()).unwrap()
        })
        .collect();
    std::fs::write(run.join("cells.json"), serde_json::to_string(&configs).unwrap()).unwrap();
    std::fs::write(run.join("metrics.csv"), metrics).unwrap();
}

#[test]
fn a_killed_run_is_read_from_its_metrics_as_cells_still_training() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::plan(dir, &["a", "b", "c"]);
    let rows = [
        "1,123,0,1,1,0.00025,0.00003,4.1,training,0.10,0.02,0.50",
        "1,123,1,2,1,0.00025,0.00003,4.2,training,0.05,nan,0.40",
        "2,246,0,1,1,0.00025,0.00005,3.1,training,0.40,0.01,0.90",
        "2,246,1,2,1,0.00025,0.00005,3.2,training,0.30,0.03,0.95",
        "3,369,0,1,1,0.00025,0.00007,2.1,training,0.20,0.04,0.99",
        "3,369,1,2,1,0.00025,0.00007,2.2,training,0.35,0.02,0.97",
        // cut off by the kill: no newline, fewer fields
        "4,492,0,1,1,0.00025,0.00009,1.1,trai",
    ];
    killed_run(&dir.join("runs/aaaa"), &format!("{HEADER}\n{}", rows.join("\n")));
    let sets = read_results(dir).unwrap();
    let s = &sets[0];
    assert_eq!((s.cells.len(), s.in_progress.len(), s.pending), (0, 2, 1));
    let got: Vec<Replica> = s
        .in_progress
        .iter()
        .map(|c| {
            (
                c.seed,
                c.status.as_str(),
                c.epoch,
                c.final_scores["composite_test"],
                c.max_scores["composite_test"],
                c.final_scores["symmetric_test"],
                c.max_scores["symmetric_test"],
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "training", Some(3), 0.20, 0.40, 0.04, 0.04),
            (2, "training", Some(3), 0.35, 0.35, 0.02, 0.03),
        ]
    );
    // The same run on its own (not inside a sweep) is a result set too.
    let alone = read_results(&dir.join("runs/aaaa")).unwrap();
    assert_eq!(alone[0].in_progress.len(), 2);
}

#[test]
fn a_killed_runs_malformed_metrics_are_one_sentence_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    for (metrics, says) in [
        (
            "epoch,replica,state\n1,0,training\n",
            "the header must name the columns epoch, replica and status",
        ),
        (
            &*format!("{HEADER}\n1,123,0,1,1,0.00025,0.00003,4.1,training,0.10,high,0.50\n"),
            "row 2: high is not a number",
        ),
        (
            &*format!("{HEADER}\n1,123,1,1,1,0.00025,0.00003,4.1,training,0.10,0.2,0.50\n"),
            "numbered 0, 1, .. without gaps",
        ),
    ] {
        killed_run(&run, metrics);
        let err = read_results(&run).unwrap_err().to_string();
        assert!(err.contains("metrics.csv") && err.contains(says), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // Two configs in cells.json, one replica in the metrics: the counts are named.
    killed_run(
        &run,
        &format!("{HEADER}\n1,123,0,1,1,0.00025,0.00003,4.1,training,0.10,0.2,0.50\n"),
    );
    let err = read_results(&run).unwrap_err().to_string();
    assert!(err.contains("the run has 1 replicas but cells.json 2 configs"), "{err}");
}

#[test]
fn a_phase_diagram_takes_cells_still_training_only_when_asked_and_marks_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::plan(dir, &["f1", "f2", "a", "b"]);
    // depth 3, gamma 1.0: two finished seeds; depth 2, gamma 1.0: two seeds killed at epoch 3
    common::sweep_cell(dir, "f1", &common::config(3, 1.0, 1, 210), 0.9, 0.1);
    common::sweep_cell(dir, "f2", &common::config(3, 1.0, 2, 210), 0.7, 0.1);
    let rows = [
        "3,369,0,1,1,0.00025,0.00007,2.1,training,0.20,0.04,0.99",
        "3,369,1,2,1,0.00025,0.00007,2.2,training,0.40,0.02,0.97",
    ];
    killed_run(&dir.join("runs/aaaa"), &format!("{HEADER}\n{}\n", rows.join("\n")));
    let sets = read_results(dir).unwrap();
    let reference = Reference::parse(include_str!("../../../references/paper_results.toml"), Path::new("ref")).unwrap();
    let cmp = |phase_in_progress| {
        compare_to_paper_with(
            dir,
            &sets,
            &reference,
            Path::new("ref"),
            PaperOptions {
                phase_in_progress,
                ..PaperOptions::default()
            },
        )
        .unwrap()
    };
    let cells = |c: &msym_compare::PaperComparison| -> Vec<(u64, &str, f64, bool)> {
        let t = c.figures[0].table.as_ref().unwrap();
        t.diffs
            .iter()
            .map(|d| (d.depth, d.metric, (d.ours * 100.0).round() / 100.0, d.is_final))
            .collect()
    };

    let finals_only = cmp(false);
    let f = &finals_only.figures[0];
    assert_eq!((f.cells, f.in_progress, f.interim()), (2, 2, 0));
    assert_eq!(
        cells(&finals_only),
        [(3, "composite", 0.8, true), (3, "symmetric", 0.1, true)]
    );
    assert!(f.note.as_ref().unwrap().contains("2 cells still training are left out"));
    assert!(!finals_only.failures().iter().any(|s| s.contains("not final")));
    assert!(f.heatmaps.iter().all(|h| h.ours_final));

    let with_running = cmp(true);
    let f = &with_running.figures[0];
    assert_eq!((f.cells, f.in_progress, f.interim()), (4, 2, 2));
    assert_eq!(
        cells(&with_running),
        [
            (2, "composite", 0.3, false),
            (2, "symmetric", 0.03, false),
            (3, "composite", 0.8, true),
            (3, "symmetric", 0.1, true),
        ]
    );
    assert_eq!(
        f.note.as_deref(),
        Some(
            "2 cells still training are in this table at their last evaluation (epoch 3 of 210): these values are not final"
        )
    );
    assert!(
        f.heatmaps.iter().all(|h| !h.ours_final),
        "the heatmaps hold the depth-2 cells"
    );
    assert!(
        with_running
            .failures()
            .contains(&"fig3: 2 cells of the phase table are not final (their runs are still training)".to_string())
    );
    let csv = msym_compare::render::paper_csv(&with_running);
    assert!(csv.contains("\nfig3,,2,1,composite,0.61,0.3000,"), "{csv}");
    assert!(
        csv.lines()
            .filter(|l| l.starts_with("fig3,,2,"))
            .all(|l| l.ends_with(",false")),
        "{csv}"
    );
    assert!(
        csv.lines()
            .filter(|l| l.starts_with("fig3,,3,"))
            .all(|l| l.ends_with(",true")),
        "{csv}"
    );
    let md = msym_compare::render::paper_markdown(&with_running, None);
    assert!(md.contains("(phase diagrams include them, --in-progress)"), "{md}");
}
