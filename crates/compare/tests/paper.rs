//! Paper vs ours on synthetic sweeps with known differences: the cell table, the errors,
//! the tolerance failures and the claim verdicts are exact; and the real reference's
//! claims hold on the paper's own numbers.

mod common;

use std::path::Path;

use msym_compare::{Reference, compare_to_paper, evaluate, read_results, render};

/// A 2 x 2 reference: depths 2, 3; gammas 0.5, 1.0.
const REFERENCE: &str = r#"
[source]
title = "A title"
authors = ["A. Author", "B. Author"]
venue = "Venue 2025"
arxiv = "0000.00000"

[fig3_test_phase]
description = "a synthetic phase diagram"
gamma = [0.5, 1.0]
depth = [2, 3]
seeds = 3
composite = [[0.10, 0.60], [0.20, 0.90]]
symmetric = [[0.05, 0.05], [0.10, 0.05]]

[[fig3_test_phase.checks]]
claim = "small gamma: nothing learned"
gamma = [0.0, 0.5]
lhs = "max"
op = "<"
rhs = 0.3
quantifier = "every"

[[fig3_test_phase.checks]]
claim = "large gamma: composite dominates"
gamma = [1.0, 2.0]
lhs = "composite"
op = ">"
rhs = "symmetric"
quantifier = "most"

[fig3_test_phase.tolerance]
cell = 0.1
mae = 0.05

[fig3_test_phase.setup]
"model.d_model" = 32
"task.kind" = "composite"

[training.setup]
"train.epochs" = 210
"train.lr_peak" = 2.5e-4
"#;

/// Ours, two seeds per cell: composite diffs +0.05, 0, +0.30, -0.05 and symmetric diffs
/// 0, -0.05, 0, 0 at (2, 0.5), (2, 1.0), (3, 0.5), (3, 1.0); one cell at depth 1 lies
/// outside the paper's grid. Every cell trained 3 epochs instead of 210.
fn synthetic_sweep(dir: &Path) {
    let cells = [
        (2, 0.5, [(0.10, 0.05), (0.20, 0.05)]),
        (2, 1.0, [(0.60, 0.0), (0.60, 0.0)]),
        (3, 0.5, [(0.50, 0.10), (0.50, 0.10)]),
        (3, 1.0, [(0.85, 0.05), (0.85, 0.05)]),
        (1, 0.5, [(0.0, 0.0), (0.0, 0.0)]),
    ];
    for (depth, gamma, seeds) in cells {
        for (i, (c, s)) in seeds.iter().enumerate() {
            let seed = i as u64 + 1;
            let id = format!("d{depth}g{gamma}s{seed}");
            common::sweep_cell(dir, &id, &common::config(depth, gamma, seed, 3), *c, *s);
        }
    }
}

fn compare(dir: &Path) -> msym_compare::PaperComparison {
    let reference = Reference::parse(REFERENCE, Path::new("ref.toml")).unwrap();
    let sets = read_results(dir).unwrap();
    compare_to_paper(dir, &sets, &reference, Path::new("ref.toml")).unwrap()
}

#[test]
fn the_cell_table_errors_and_tolerances_are_exact() {
    let tmp = tempfile::tempdir().unwrap();
    synthetic_sweep(tmp.path());
    let c = compare(tmp.path());
    assert_eq!(
        c.citation,
        "A. Author, B. Author, \"A title\", Venue 2025, arXiv:0000.00000"
    );
    assert_eq!(c.figures.len(), 1);
    let f = &c.figures[0];
    assert_eq!(f.figure.id, "fig3");
    assert!(f.figure.how.starts_with("inferred"), "{}", f.figure.how);
    assert_eq!(f.cells, 10);
    let t = f.table.as_ref().unwrap();
    let got: Vec<(u64, f64, &str, f64)> = t
        .diffs
        .iter()
        .map(|d| (d.depth, d.gamma, d.metric, (d.diff * 1e6).round() / 1e6))
        .collect();
    assert_eq!(
        got,
        [
            (2, 0.5, "composite", 0.05),
            (2, 0.5, "symmetric", 0.0),
            (2, 1.0, "composite", 0.0),
            (2, 1.0, "symmetric", -0.05),
            (3, 0.5, "composite", 0.3),
            (3, 0.5, "symmetric", 0.0),
            (3, 1.0, "composite", -0.05),
            (3, 1.0, "symmetric", 0.0),
        ]
    );
    assert_eq!(t.outside, [(String::new(), 1, 0.5)]);
    // seeds 0.10 and 0.20: sample std 0.1 / sqrt(2).
    assert!((t.diffs[0].ours_std - 0.1 / 2f64.sqrt()).abs() < 1e-12);
    assert!((t.mae(None) - 0.45 / 8.0).abs() < 1e-12);
    assert!((t.mae(Some("composite")) - 0.1).abs() < 1e-12);
    assert!((t.mae(Some("symmetric")) - 0.0125).abs() < 1e-12);
    let worst = t.largest(1)[0];
    assert_eq!((worst.depth, worst.gamma, worst.metric), (3, 0.5, "composite"));
    assert_eq!(
        t.tolerance_failures(),
        [
            "1 of 8 cell values differ from the paper by more than 0.1",
            "mean absolute error 0.056 exceeds 0.05"
        ]
    );
}

#[test]
fn claim_verdicts_and_the_setup_diff_are_exact() {
    let tmp = tempfile::tempdir().unwrap();
    synthetic_sweep(tmp.path());
    let c = compare(tmp.path());
    let f = &c.figures[0];
    // (claim, ours holds, true in, cells, the paper's cells hold)
    type Row<'a> = (&'a str, Option<bool>, usize, usize, Option<bool>);
    let verdicts: Vec<Row> = f
        .verdicts
        .iter()
        .map(|(_, check, ours, paper)| (check.claim.as_str(), ours.holds, ours.true_in, ours.cells, paper.holds))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("small gamma: nothing learned", Some(false), 1, 2, Some(true)),
            ("large gamma: composite dominates", Some(true), 2, 2, Some(true)),
        ]
    );
    assert_eq!(
        f.verdicts[0].2.false_at,
        [(3, 0.5)],
        "depth 1 is outside the paper's depths"
    );
    let setup = common::setup_rows(&f.setup);
    assert_eq!(
        setup,
        [("train.epochs", "210", vec!["3"]), ("seeds per cell", "3", vec!["2"])],
        "lr_peak 0.00025 is the paper's 2.5e-4; d_model and the task agree"
    );
    assert_eq!(
        c.failures(),
        [
            "fig3: 1 of 8 cell values differ from the paper by more than 0.1",
            "fig3: mean absolute error 0.056 exceeds 0.05",
            "fig3: claim fails: small gamma: nothing learned",
        ]
    );
    let defaults: Vec<Option<&str>> = f.defaults.iter().map(|d| d.field).collect();
    assert!(defaults.contains(&Some("init.rule")) && defaults.contains(&Some("task.seq_len")));
    assert!(
        !defaults.contains(&Some("task.shifts_set2")),
        "no full-symmetry field in a composite run"
    );
    let rule = f.defaults.iter().find(|d| d.field == Some("init.rule")).unwrap();
    assert_eq!(rule.ours, ["first_dim"]);
}

#[test]
fn csv_and_report_carry_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    synthetic_sweep(tmp.path());
    let c = compare(tmp.path());
    let csv = render::paper_csv(&c);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 9);
    assert_eq!(
        lines[5],
        "fig3,,3,0.5,composite,0.2,0.5000,0.0000,2,0.3000,false,composite,,|ours - paper| <= 0.1,,,true"
    );
    assert_eq!(
        lines[7],
        "fig3,,3,1,composite,0.9,0.8500,0.0000,2,-0.0500,true,composite,,|ours - paper| <= 0.1,,,true"
    );
    let md = render::paper_markdown(&c, Some("figs/"));
    assert!(
        md.contains("| 3 | 0.5 | 0.20 | 0.50 (0.00) | +0.30 | 0.10 | 0.10 (0.00) | +0.00 | 2 |  |"),
        "{md}"
    );
    assert!(md.contains("![ours: fig3 composite accuracy on pair 43](figs/ours_fig3_composite.png)"));
    assert!(md.contains("| `train.epochs` | 210 | 3 |"));
    assert!(md.contains("**FAILS** (1/2 cells)"));
    let text = render::paper_text(&c);
    assert!(
        text.contains("largest misses: depth 3 gamma 0.5 composite 0.50 vs 0.20"),
        "{text}"
    );
}

#[test]
fn a_folder_without_results_is_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let err = read_results(tmp.path()).unwrap_err().to_string();
    assert!(err.ends_with("holds no results: expected a sweep directory (cells/<id>/summary.json), one sweep cell (summary.json and config.resolved.toml), a run directory (cells.json with summary.json or metrics.csv), an analysis folder (block.csv, substitute.csv) or a folder of those"), "{err}");
    assert!(!err.contains('\n'));
    let bad = Reference::parse("[fig3_x]\ngamma = [1.0]\ndepth = [2]\ncomposite = [[0.1, 0.2]]\nsymmetric = [[0.1]]\n[source]\npaper = \"p\"\n", Path::new("r.toml"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        bad,
        "r.toml: [fig3_x] composite must have 1 rows (one per depth) of 1 values (one per gamma)"
    );
}

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_projects_reference_is_consistent_and_its_claims_hold_on_the_paper() {
    let path = repo().join("references/paper_results.toml");
    let r = Reference::load(&path).unwrap();
    assert!(r.citation.contains("Achilles' Heel of Mamba") && r.citation.contains("2509.17514"));
    let ids: Vec<&str> = r.phase.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["fig3", "fig6"]);
    for f in &r.phase {
        assert!(!f.checks.is_empty() && f.tolerance.is_some(), "{}", f.id);
        let mut cells = Vec::new();
        for (i, d) in f.depth.iter().enumerate() {
            for (j, g) in f.gamma.iter().enumerate() {
                cells.push((*d, *g, f.composite[i][j], f.symmetric[i][j]));
            }
        }
        for check in &f.checks {
            let v = evaluate(check, &cells, [0.1, 2.0], [2, 7]);
            assert_eq!(
                v.holds,
                Some(true),
                "{}: {} ({}/{})",
                f.id,
                check.claim,
                v.true_in,
                v.cells
            );
        }
    }
    // [training.setup] restates [training] as config fields: they must agree.
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let t = doc["training"].as_table().unwrap();
    let num = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).unwrap();
    let s = &r.training_setup;
    for (field, key) in [
        ("train.lr_start", "lr_start"),
        ("train.lr_peak", "lr_peak"),
        ("train.lr_end", "lr_end"),
        ("train.warmup_epochs", "warmup_epochs"),
        ("train.cosine_epochs", "cosine_epochs"),
        ("train.weight_decay", "weight_decay"),
        ("train.eps", "eps"),
        ("train.grad_clip", "grad_clip_norm"),
        ("train.batch_size", "batch_size_composite"),
    ] {
        assert_eq!(s[field].as_f64().unwrap(), num(&t[key]), "{field}");
    }
    let betas = t["betas"].as_array().unwrap();
    assert_eq!(s["train.beta1"].as_f64().unwrap(), num(&betas[0]));
    assert_eq!(s["train.beta2"].as_f64().unwrap(), num(&betas[1]));
    assert_eq!(
        s["train.epochs"].as_f64().unwrap(),
        num(&t["warmup_epochs"]) + num(&t["cosine_epochs"])
    );
}

#[test]
fn the_committed_fig3_cell_differs_from_the_paper_only_in_its_seed_count() {
    let dir = repo().join("results/fig3-cell-d3-g1-s1");
    let r = Reference::load(&repo().join("references/paper_results.toml")).unwrap();
    let c = compare_to_paper(&dir, &read_results(&dir).unwrap(), &r, Path::new("ref")).unwrap();
    let f = &c.figures[0];
    assert_eq!(f.figure.id, "fig3");
    let t = f.table.as_ref().unwrap();
    assert_eq!((t.diffs.len(), t.diffs[0].paper, t.diffs[1].paper), (2, 0.94, 0.06));
    assert!((t.diffs[0].ours - 0.8634666666666667).abs() < 1e-12);
    let fields: Vec<&str> = f.setup.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["seeds per cell"]);
    let words: Vec<&str> = f.verdicts.iter().map(|v| v.2.word()).collect();
    assert_eq!(words, ["untested", "holds", "holds", "holds"]);
}
