//! Run vs run: the config diff lists exactly the fields that differ, and the metric
//! differences are means and stds over seeds (paired by seed where both sides ran the same).

mod common;

use msym_compare::{compare_runs, read_results, render};

fn cells(dir: &std::path::Path) -> Vec<msym_compare::CellResult> {
    read_results(dir).unwrap().into_iter().flat_map(|s| s.cells).collect()
}

/// As `msym compare RUN_A RUN_B` reads a side: with the cells still training.
fn all_cells(dir: &std::path::Path) -> Vec<msym_compare::CellResult> {
    read_results(dir)
        .unwrap()
        .iter()
        .flat_map(|s| s.all_cells().cloned())
        .collect()
}

#[test]
fn two_runs_differing_in_gamma_and_seed_show_exactly_those_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    common::run_dir(&a, &[(common::config(3, 1.0, 1, 210), 0.5, 0.1)]);
    common::run_dir(&b, &[(common::config(3, 0.5, 2, 210), 0.3, 0.1)]);
    let c = compare_runs(&cells(&a), &cells(&b));
    let fields: Vec<(&str, &[String], &[String])> = c
        .fields
        .iter()
        .map(|f| (f.field.as_str(), &f.a[..], &f.b[..]))
        .collect();
    assert_eq!(
        fields,
        [
            ("init.gamma", &["1.0".to_string()][..], &["0.5".to_string()][..]),
            ("seed", &["1".to_string()][..], &["2".to_string()][..]),
        ]
    );
    assert_eq!(
        c.fields[1].note.as_deref(),
        Some("data_seed follows the seed on both sides")
    );
    let comp = c.metrics.iter().find(|m| m.metric == "composite_test").unwrap();
    assert_eq!((comp.group.as_str(), comp.a.2, comp.b.2), ("all", 1, 1));
    assert!((comp.diff_mean + 0.2).abs() < 1e-12);
    assert_eq!(comp.diff_std, None, "different seeds cannot be paired");
    let text = render::runs_text(&c, "a", "b");
    assert!(text.contains("init.gamma"), "{text}");
    assert!(!text.contains("data_seed   "), "{text}");
}

#[test]
fn same_seeds_pair_and_a_fixed_data_seed_is_listed_when_it_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    common::run_dir(
        &a,
        &[
            (common::config(2, 1.0, 1, 210), 0.5, 0.0),
            (common::config(2, 1.0, 2, 210), 0.7, 0.0),
        ],
    );
    common::run_dir(
        &b,
        &[
            (common::config(2, 0.5, 2, 210), 0.4, 0.1),
            (common::config(2, 0.5, 1, 210), 0.4, 0.3),
        ],
    );
    let c = compare_runs(&cells(&a), &cells(&b));
    let fields: Vec<&str> = c.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["init.gamma"]);
    let comp = c.metrics.iter().find(|m| m.metric == "composite_test").unwrap();
    // B - A by seed: seed 1: 0.4 - 0.5, seed 2: 0.4 - 0.7.
    assert!((comp.diff_mean + 0.2).abs() < 1e-12);
    assert!((comp.diff_std.unwrap() - 0.2 / 2f64.sqrt()).abs() < 1e-12);
    let sym = c.metrics.iter().find(|m| m.metric == "symmetric_test").unwrap();
    assert!((sym.b.0 - 0.2).abs() < 1e-12 && (sym.b.1 - 0.2 / 2f64.sqrt()).abs() < 1e-12);
    let csv = render::runs_csv(&c);
    assert!(
        csv.contains("all,composite_test,0.6000,0.1414,2,0.4000,0.0000,2,-0.2000,0.1414"),
        "{csv}"
    );

    // A held data seed shows up as its own difference.
    let pinned = common::config(2, 1.0, 1, 210).replace("data_seed = 1", "data_seed = 7");
    let c = tempfile::tempdir().unwrap();
    common::run_dir(c.path(), &[(pinned, 0.5, 0.0)]);
    common::run_dir(&tmp.path().join("d"), &[(common::config(2, 1.0, 1, 210), 0.5, 0.0)]);
    let diff = compare_runs(&cells(c.path()), &cells(&tmp.path().join("d")));
    let fields: Vec<&str> = diff.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["data_seed"]);
}

#[test]
fn sweeps_are_matched_setting_by_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (dir, epochs, base) in [(&a, 3, 0.2), (&b, 6, 0.5)] {
        for (gamma, seed) in [(0.5, 1), (0.5, 2), (1.0, 1), (1.0, 2)] {
            let id = format!("g{gamma}s{seed}");
            common::sweep_cell(
                dir,
                &id,
                &common::config(2, gamma, seed, epochs),
                base + gamma / 10.0,
                0.0,
            );
        }
    }
    common::sweep_cell(&b, "extra", &common::config(3, 1.0, 1, 6), 0.9, 0.0);
    let c = compare_runs(&cells(&a), &cells(&b));
    let fields: Vec<&str> = c.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["model.depth", "train.epochs"], "B also has depth 3");
    let comp: Vec<(&str, f64)> = c
        .metrics
        .iter()
        .filter(|m| m.metric == "composite_test")
        .map(|m| (m.group.as_str(), (m.diff_mean * 1e9).round() / 1e9))
        .collect();
    assert_eq!(
        comp,
        [
            ("init.gamma=0.5;model.depth=2", 0.3),
            ("init.gamma=1.0;model.depth=2", 0.3)
        ]
    );
    assert_eq!((c.only_a, c.only_b), (0, 1));
}

#[test]
fn one_sweep_cell_is_a_result_set() {
    let tmp = tempfile::tempdir().unwrap();
    common::sweep_cell(tmp.path(), "x", &common::config(2, 1.0, 1, 3), 0.5, 0.0);
    common::sweep_cell(tmp.path(), "y", &common::config(2, 2.0, 1, 3), 0.7, 0.0);
    let (x, y) = (tmp.path().join("cells/x"), tmp.path().join("cells/y"));
    let c = compare_runs(&cells(&x), &cells(&y));
    let fields: Vec<&str> = c.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["init.gamma"]);
    let comp = c.metrics.iter().find(|m| m.metric == "composite_test").unwrap();
    assert!((comp.diff_mean - 0.2).abs() < 1e-12);
    assert_eq!(comp.diff_std, Some(0.0), "one seed each, the same seed: paired");
}

#[test]
fn cells_still_training_are_named_with_their_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let replicas = [
        (common::config(3, 1.0, 1, 210), 0.5, 0.0),
        (common::config(3, 1.0, 2, 210), 0.7, 0.0),
    ];
    common::run_dir(&a, &replicas);
    common::run_dir(&b, &replicas);
    // B's seed 2 stopped at epoch 185 of 210 (a call's end cut it short).
    let training = common::scores_summary(&[("composite_test", 0.6), ("symmetric_test", 0.0)], "training", 185);
    let finished = common::summary(0.5, 0.0, "finished");
    std::fs::write(
        b.join("summary.json"),
        serde_json::json!({"replicas": [finished, training]}).to_string(),
    )
    .unwrap();
    let c = compare_runs(&all_cells(&a), &all_cells(&b));
    assert_eq!(c.not_final.len(), 1, "{:?}", c.not_final);
    assert!(
        c.not_final[0].starts_with("B: ") && c.not_final[0].ends_with("(seed 2) at epoch 185 of 210"),
        "{:?}",
        c.not_final
    );
    let comp = c.metrics.iter().find(|m| m.metric == "composite_test").unwrap();
    assert!(
        (comp.diff_mean + 0.05).abs() < 1e-12,
        "the last evaluation still counts: (0 - 0.1) / 2"
    );
    assert!(render::runs_markdown(&c, "a", "b").contains("(seed 2) at epoch 185 of 210"));
    assert!(render::runs_text(&c, "a", "b").contains("still training"));
    assert!(compare_runs(&all_cells(&a), &all_cells(&a)).not_final.is_empty());
}

/// metrics.csv of a run: (replica, epoch, status, composite) rows.
fn write_metrics(dir: &std::path::Path, rows: &[(usize, u64, &str, f64)]) {
    let mut text =
        String::from("epoch,step,replica,seed,gamma,lr_peak,lr,train_loss,status,composite_test,symmetric_test\n");
    for (r, e, status, comp) in rows {
        text.push_str(&format!(
            "{e},{},{r},{},1.0,0.00025,0.0001,0.5,{status},{comp},0.01\n",
            e * 10,
            r + 1
        ));
    }
    std::fs::write(dir.join("metrics.csv"), text).unwrap();
}

#[test]
fn at_an_epoch_each_cell_is_its_evaluation_there_and_its_maxima_up_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let replicas = [
        (common::config(3, 1.0, 1, 20), 0.3, 0.0),
        (common::config(3, 1.0, 2, 20), 0.0, 0.0),
    ];
    common::run_dir(&a, &replicas);
    // seed 1 peaks at epoch 10 and drifts; seed 2 diverges at epoch 10
    write_metrics(
        &a,
        &[
            (0, 0, "training", 0.0),
            (1, 0, "training", 0.0),
            (0, 5, "training", 0.6),
            (1, 5, "training", 0.2),
            (0, 10, "training", 0.9),
            (1, 10, "diverged", 0.0),
            (0, 15, "training", 0.5),
            (0, 20, "finished", 0.3),
        ],
    );
    let run = all_cells(&a);
    let comp = |c: &msym_compare::CellResult| (c.final_scores["composite_test"], c.max_scores["composite_test"]);

    let at5 = msym_compare::at_epoch(&run, 5).unwrap();
    assert_eq!(
        (comp(&at5[0]), at5[0].status.as_str(), at5[0].epoch),
        ((0.6, 0.6), "finished", Some(5))
    );
    assert_eq!((comp(&at5[1]), at5[1].status.as_str()), ((0.2, 0.2), "finished"));

    let at15 = msym_compare::at_epoch(&run, 15).unwrap();
    assert_eq!(comp(&at15[0]), (0.5, 0.9), "the evaluation at 15, the peak before it");
    assert_eq!(
        (at15[1].status.as_str(), at15[1].epoch),
        ("diverged", Some(10)),
        "a divergence stays one"
    );

    // between evaluations: the last one before, and the cell says it was not evaluated there
    let at12 = msym_compare::at_epoch(&run, 12).unwrap();
    assert_eq!(
        (comp(&at12[0]), at12[0].status.as_str(), at12[0].epoch),
        ((0.9, 0.9), "training", Some(10))
    );

    // compared with itself at two epochs: seed 1's 0.5 at 15 against its 0.6 at 5
    let mut c = compare_runs(&at5, &at15);
    c.epoch = Some(15);
    let m = c.metrics.iter().find(|m| m.metric == "composite_test").unwrap();
    assert!((m.b.0 - 0.25).abs() < 1e-12, "(0.5 + 0.0) / 2: {m:?}");
    assert!(render::runs_markdown(&c, "a", "a").contains("at epoch 15, max: up to epoch 15"));

    // one sweep cell with its own metrics.csv (replica 0 only)
    common::sweep_cell(tmp.path(), "x", &common::config(2, 1.0, 1, 20), 0.3, 0.0);
    let cell_dir = tmp.path().join("cells/x");
    write_metrics(
        &cell_dir,
        &[
            (0, 0, "training", 0.1),
            (0, 10, "training", 0.7),
            (0, 20, "finished", 0.3),
        ],
    );
    let at10 = msym_compare::at_epoch(&cells(&cell_dir), 10).unwrap();
    assert_eq!(comp(&at10[0]), (0.7, 0.7));

    // without metrics.csv the values at an epoch are unknown: said, not guessed
    let b = tmp.path().join("b");
    common::run_dir(&b, &replicas[..1]);
    let err = msym_compare::at_epoch(&all_cells(&b), 5).unwrap_err().to_string();
    assert!(err.contains("has no metrics.csv"), "{err}");
}

#[test]
fn a_one_seed_spot_check_pairs_on_the_seed_both_ran() {
    // issue 8's spot check: seed 1 trained alone (A) against the sweep's seeds 1-3 (B).
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    common::sweep_cell(&a, "s1", &common::config(3, 1.0, 1, 210), 0.34, 0.0);
    for (seed, comp) in [(1, 0.58), (2, 0.80), (3, 0.51)] {
        common::sweep_cell(&b, &format!("s{seed}"), &common::config(3, 1.0, seed, 210), comp, 0.0);
    }
    let c = compare_runs(&cells(&a), &cells(&b));
    let comp = c.metrics.iter().find(|m| m.metric == "composite_test").unwrap();
    assert_eq!(comp.paired, [1]);
    assert!(
        (comp.diff_mean - 0.24).abs() < 1e-12,
        "B's seed 1 - A, not B's mean - A"
    );
    assert!(
        (comp.b.0 - (0.58 + 0.80 + 0.51) / 3.0).abs() < 1e-12,
        "B's column keeps its three seeds"
    );
    assert!(render::runs_text(&c, "a", "b").contains("+0.24 (seed 1 only)"));
    assert!(render::runs_markdown(&c, "a", "b").contains("| +0.24 (seed 1 only) |"));
    assert!(
        render::runs_csv(&c).contains(",0.2400,0.0000,1\n"),
        "{}",
        render::runs_csv(&c)
    );

    // A seed run twice on one side pairs with nothing there.
    common::sweep_cell(&a, "s1again", &common::config(3, 1.0, 1, 210), 0.30, 0.0);
    let c = compare_runs(&cells(&a), &cells(&b));
    let comp = c.metrics.iter().find(|m| m.metric == "composite_test").unwrap();
    assert_eq!((comp.paired.len(), comp.diff_std), (0, None));
}
