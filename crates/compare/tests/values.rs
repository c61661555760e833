//! Paper vs ours for the figures the paper gives as single numbers (fig5a, fig5c, fig7), on
//! synthetic sweeps with known scores: the rows (mean, sample std, seeds, difference, the
//! epoch the values come from) and the verdicts are exact; cells still training are
//! compared but never taken for final; a malformed reference is one sentence.

mod common;

use std::path::Path;

use msym_compare::{Outcome, PaperComparison, Reference, ValueRow, compare_to_paper, read_results, render};

const REFERENCE: &str = r#"
[source]
paper = "a paper"

[fig5c_positional_encoding]
description = "synthetic fig5c"
pos_symmetric_final = 0.82
pos_composite_final = 0.10
standard_composite_final = 0.04
standard_symmetric_final = 0.02
approx = true

[fig5c_positional_encoding.tolerance]
value = 0.2

[fig5c_positional_encoding.setup]
"model.depth" = 2

[fig5a_full_symmetry]
pair34_test_acc_final = 1.0
pair43_test_acc_final_max = 0.03

[fig5a_full_symmetry.tolerance]
value = 0.2
bound = 0.05

[fig7_inverse_matching]
mamba = { train = 1.0, test = 0.20, ood = 0.20 }
transformer = { train = 1.0, test = 1.0, ood = 0.59 }
mamba_residual_posenc = { train = 1.0, test = 1.0, ood = 0.60 }
chance = 0.20

[fig7_inverse_matching.tolerance]
value = 0.2

[fig7_inverse_matching.setup]
"train.batch_size" = 1024

[training.setup]
"train.epochs" = 210
"#;

fn compare(dir: &Path) -> PaperComparison {
    let reference = Reference::parse(REFERENCE, Path::new("ref.toml")).unwrap();
    compare_to_paper(dir, &read_results(dir).unwrap(), &reference, Path::new("ref.toml")).unwrap()
}

/// (key, settings, ours, std, seeds, diff, outcome), rounded to 1e-9.
type Row = (String, String, f64, f64, usize, f64, Outcome);

fn rows(c: &PaperComparison, figure: &str) -> Vec<Row> {
    let f = c.figures.iter().find(|f| f.figure.id == figure).unwrap();
    let r = |x: f64| (x * 1e9).round() / 1e9;
    f.values
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .map(|v: &ValueRow| {
            (
                v.key.clone(),
                v.settings.clone(),
                r(v.ours),
                r(v.ours_std),
                v.seeds,
                r(v.diff),
                v.outcome(),
            )
        })
        .collect()
}

fn row(key: &str, settings: &str, ours: f64, std: f64, seeds: usize, diff: f64, o: Outcome) -> Row {
    (key.into(), settings.into(), ours, std, seeds, diff, o)
}

const SINUSOIDAL: (&str, &str) = ("pos_encoding = \"none\"", "pos_encoding = \"sinusoidal\"");
const LEARNED: (&str, &str) = ("pos_encoding = \"none\"", "pos_encoding = \"learned\"");

/// fig5c, 210 epochs, all finished: standard composite 0.02/0.04/0.06 and symmetric 0;
/// sinusoidal symmetric 0.5/0.6/0.7 and composite 0.3/0.2/0.1; learned (one seed) 0.9 / 0.05.
fn fig5c_sweep(dir: &Path) {
    let scores = |c: f64, s: f64| vec![("composite_test", c), ("symmetric_test", s)];
    for (seed, c) in [(1, 0.02), (2, 0.04), (3, 0.06)] {
        let cfg = common::figure_config("fig5c", 2, 0.5, seed, 210, &[]);
        common::finished_cell(dir, &format!("std{seed}"), &cfg, &scores(c, 0.0), 210);
    }
    for (seed, c, s) in [(1, 0.3, 0.5), (2, 0.2, 0.6), (3, 0.1, 0.7)] {
        let cfg = common::figure_config("fig5c", 2, 0.5, seed, 210, &[SINUSOIDAL]);
        common::finished_cell(dir, &format!("sin{seed}"), &cfg, &scores(c, s), 210);
    }
    let cfg = common::figure_config("fig5c", 2, 0.5, 1, 210, &[LEARNED]);
    common::finished_cell(dir, "learned1", &cfg, &scores(0.05, 0.9), 210);
}

#[test]
fn fig5c_rows_are_exact_per_variant_and_encoding_kind() {
    let tmp = tempfile::tempdir().unwrap();
    fig5c_sweep(tmp.path());
    let c = compare(tmp.path());
    let (learned, sin) = ("model.pos_encoding=learned", "model.pos_encoding=sinusoidal");
    assert_eq!(
        rows(&c, "fig5c"),
        [
            row("pos_symmetric_final", learned, 0.9, 0.0, 1, 0.08, Outcome::Holds),
            row("pos_symmetric_final", sin, 0.6, 0.1, 3, -0.22, Outcome::Fails),
            row("pos_composite_final", learned, 0.05, 0.0, 1, -0.05, Outcome::Holds),
            row("pos_composite_final", sin, 0.2, 0.1, 3, 0.1, Outcome::Holds),
            row("standard_composite_final", "", 0.04, 0.02, 3, 0.0, Outcome::Holds),
            row("standard_symmetric_final", "", 0.0, 0.0, 3, -0.02, Outcome::Holds),
        ]
    );
    let f = &c.figures[0];
    assert_eq!((f.cells, f.in_progress, f.setup.len()), (7, 0, 0));
    let v = f.values.as_ref().unwrap();
    assert!(v.approx && v.context.is_empty());
    assert_eq!(v.rows[1].when(), "final (epoch 210)");
    assert_eq!(
        c.failures(),
        [
            "fig5c: pos_symmetric_final [model.pos_encoding=sinusoidal]: ours 0.600 vs paper 0.82 fails |ours - paper| <= 0.2"
        ]
    );
    let csv = render::paper_csv(&c);
    assert!(
        csv.contains("\nfig5c,model.pos_encoding=sinusoidal,,,symmetric_test,0.82,0.6000,0.1000,3,-0.2200,false,pos_symmetric_final,positional encoding,|ours - paper| <= 0.2,210,210,true\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 7);
    let text = render::paper_text(&c);
    assert!(
        text.contains("pos_symmetric_final           0.82  0.600 (0.100)  -0.220     3  final (epoch 210)  FAILS\n    ours: positional encoding: symmetric_test [model.pos_encoding=sinusoidal]; check: |ours - paper| <= 0.2\n"),
        "{text}"
    );
    assert!(text.contains("standard = cells with model.pos_encoding = none: standard_composite_final <- composite_test, standard_symmetric_final <- symmetric_test"), "{text}");
    let md = render::paper_markdown(&c, None);
    assert!(
        md.contains("| standard_composite_final | 0.04 | standard: composite_test | 0.040 (0.020) | +0.000 | 3 | final (epoch 210) | \\|ours - paper\\| <= 0.2 | **holds** |"),
        "{md}"
    );
}

#[test]
fn a_sweep_without_cells_folder_is_read_from_its_plan_and_unfinished_runs() {
    // As git checks out a committed sweep whose runs all stopped: no empty cells/.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::plan(dir, &["sin1", "sin2"]);
    std::fs::remove_dir_all(dir.join("cells")).ok();
    let running: Vec<(String, Vec<(&str, f64)>)> = [(1, 0.6, 0.7), (2, 0.4, 0.9)]
        .into_iter()
        .map(|(seed, c, s)| {
            (
                common::figure_config("fig5c", 2, 0.5, seed, 210, &[SINUSOIDAL]),
                vec![("composite_test", c), ("symmetric_test", s)],
            )
        })
        .collect();
    common::running_run(&dir.join("runs/aaaa"), &running, 205);
    let sets = read_results(dir).unwrap();
    assert_eq!(
        (sets[0].cells.len(), sets[0].in_progress.len(), sets[0].pending),
        (0, 2, 0)
    );
}

#[test]
fn cells_still_training_are_compared_at_their_last_epoch_and_never_final() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::plan(dir, &["std1", "std2", "sin1", "sin2", "sin3"]);
    let scores = |c: f64, s: f64| vec![("composite_test", c), ("symmetric_test", s)];
    for (seed, c) in [(1, 0.02), (2, 0.06)] {
        let cfg = common::figure_config("fig5c", 2, 0.5, seed, 210, &[]);
        common::finished_cell(dir, &format!("std{seed}"), &cfg, &scores(c, 0.0), 210);
    }
    // sin1 and sin2 train as one run, stopped at its time limit after epoch 60's evaluation.
    let running: Vec<(String, Vec<(&str, f64)>)> = [(1, 0.6, 0.7), (2, 0.4, 0.9)]
        .into_iter()
        .map(|(seed, c, s)| {
            (
                common::figure_config("fig5c", 2, 0.5, seed, 210, &[SINUSOIDAL]),
                scores(c, s),
            )
        })
        .collect();
    common::running_run(&dir.join("runs/aaaa"), &running, 60);
    // A finished group run: its replicas are the cells above, read once from cells/.
    common::run_dir(
        &dir.join("runs/bbbb"),
        &[(common::figure_config("fig5c", 2, 0.5, 1, 210, &[]), 0.02, 0.0)],
    );
    let sets = read_results(dir).unwrap();
    assert_eq!(
        (sets[0].cells.len(), sets[0].in_progress.len(), sets[0].pending),
        (2, 2, 1)
    );
    let c = compare(dir);
    assert_eq!((c.in_progress, c.pending), (2, 1));
    let sin = "";
    assert_eq!(
        rows(&c, "fig5c"),
        [
            row(
                "pos_symmetric_final",
                sin,
                0.8,
                0.141421356,
                2,
                -0.02,
                Outcome::NotFinal { within: true }
            ),
            row(
                "pos_composite_final",
                sin,
                0.5,
                0.141421356,
                2,
                0.4,
                Outcome::NotFinal { within: false }
            ),
            row(
                "standard_composite_final",
                "",
                0.04,
                0.028284271,
                2,
                0.0,
                Outcome::Holds
            ),
            row("standard_symmetric_final", "", 0.0, 0.0, 2, -0.02, Outcome::Holds),
        ]
    );
    let v = c.figures[0].values.as_ref().unwrap();
    assert_eq!((v.rows[0].epochs, v.rows[0].planned), (Some((60, 60)), Some(210)));
    assert_eq!(v.rows[0].when(), "epoch 60 of 210");
    assert_eq!(
        c.failures(),
        [
            "fig5c: pos_symmetric_final: not final (values from epoch 60 of 210)",
            "fig5c: pos_composite_final: not final (values from epoch 60 of 210)",
        ]
    );
    let text = render::paper_text(&c);
    assert!(
        text.contains("1 planned sweep cells have no results yet and are left out\n"),
        "{text}"
    );
    assert!(
        text.contains("2 cells are still training: values from their last evaluation"),
        "{text}"
    );
    assert!(text.contains("   4 cells from"), "{text}");
    assert!(text.contains("epoch 60 of 210    not final (would hold)\n"), "{text}");
    let md = render::paper_markdown(&c, None);
    assert!(
        md.contains(
            "\n2 cells were still training: their values are from their last evaluation and are marked not final"
        ),
        "{md}"
    );
    assert!(
        md.contains("| epoch 60 of 210 | \\|ours - paper\\| <= 0.2 | **not final (would hold)** |\n"),
        "{md}"
    );
    assert!(
        render::paper_csv(&c).contains(",pos_symmetric_final,positional encoding,|ours - paper| <= 0.2,60,210,false\n")
    );
}

#[test]
fn a_phase_diagram_leaves_cells_still_training_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::sweep_cell(dir, "a", &common::config(2, 0.5, 1, 210), 0.1, 0.05);
    common::running_run(
        &dir.join("runs/r"),
        &[(
            common::config(2, 1.0, 1, 210),
            vec![("composite_test", 0.6), ("symmetric_test", 0.0)],
        )],
        100,
    );
    let reference =
        Reference::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../references/paper_results.toml")).unwrap();
    let c = compare_to_paper(dir, &read_results(dir).unwrap(), &reference, Path::new("ref")).unwrap();
    let f = &c.figures[0];
    assert_eq!((f.figure.id.as_str(), f.cells, f.in_progress), ("fig3", 1, 1));
    let t = f.table.as_ref().unwrap();
    assert_eq!(t.diffs.len(), 2, "only the finished cell (2, 0.5)");
    assert_eq!((t.diffs[0].depth, t.diffs[0].gamma), (2, 0.5));
    assert_eq!(
        f.note.as_deref(),
        Some("1 cells still training are left out: a phase diagram compares final values only")
    );
}

#[test]
fn fig5a_has_a_row_per_depth_and_pair_43_is_an_upper_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let task = ("kind = \"composite\"", "kind = \"full_symmetry\"");
    // (depth, seed, acc_34_test, acc_43_test); depth 10 sorts after 3.
    for (depth, seed, a34, a43) in [
        (3, 1, 0.9, 0.10),
        (3, 2, 0.6, 0.06),
        (2, 1, 1.0, 0.02),
        (2, 2, 1.0, 0.04),
        (10, 1, 1.0, 0.2),
    ] {
        let cfg = common::figure_config("fig5a", depth, 0.5, seed, 210, &[task]);
        let scores = [("acc_34_test", a34), ("acc_43_test", a43)];
        common::finished_cell(tmp.path(), &format!("d{depth}s{seed}"), &cfg, &scores, 210);
    }
    let c = compare(tmp.path());
    let d = |n: u64| format!("model.depth={n}");
    let std3 = 0.212132034;
    let std43 = 0.028284271;
    let expected: Vec<Row> = vec![
        row("pair34_test_acc_final", &d(2), 1.0, 0.0, 2, 0.0, Outcome::Holds),
        row("pair34_test_acc_final", &d(3), 0.75, std3, 2, -0.25, Outcome::Fails),
        row("pair34_test_acc_final", &d(10), 1.0, 0.0, 1, 0.0, Outcome::Holds),
        row(
            "pair43_test_acc_final_max",
            &d(2),
            0.03,
            0.014142136,
            2,
            0.0,
            Outcome::Holds,
        ),
        // 0.08 is 0.03 + 0.05 exactly: on the bound holds.
        row("pair43_test_acc_final_max", &d(3), 0.08, std43, 2, 0.05, Outcome::Holds),
        row("pair43_test_acc_final_max", &d(10), 0.2, 0.0, 1, 0.17, Outcome::Fails),
    ];
    assert_eq!(rows(&c, "fig5a"), expected);
    let v = c.figures[0].values.as_ref().unwrap();
    assert_eq!(v.rows[3].check(), "ours <= 0.03 + 0.05");
    assert_eq!(c.failures().len(), 2);
}

#[test]
fn fig7_maps_each_model_and_a_model_that_did_not_run_is_untested() {
    let tmp = tempfile::tempdir().unwrap();
    let task = ("kind = \"composite\"", "kind = \"inverse_matching\"");
    let batch = ("lr_peak = 0.00025", "lr_peak = 0.00025\nbatch_size = 2048");
    let tf = ("kind = \"mamba2\"", "kind = \"transformer\"");
    let scores = |tr: f64, te: f64, ood: f64| [("acc_train", tr), ("acc_test", te), ("acc_ood", ood)];
    for (seed, te, ood) in [(1, 0.2, 0.19), (2, 0.22, 0.21)] {
        let cfg = common::figure_config("fig7", 2, 1.0, seed, 210, &[task, batch]);
        common::finished_cell(tmp.path(), &format!("m{seed}"), &cfg, &scores(1.0, te, ood), 210);
    }
    let cfg = common::figure_config("fig7", 2, 1.0, 1, 210, &[task, batch, tf]);
    // OOD 0.79 is 0.59 + 0.2 exactly (in floats 0.2000000000000001 away): on the bound holds.
    common::finished_cell(tmp.path(), "t1", &cfg, &scores(1.0, 0.7, 0.79), 210);
    let c = compare(tmp.path());
    let got: Vec<(String, usize, Outcome)> = rows(&c, "fig7").into_iter().map(|r| (r.0, r.4, r.6)).collect();
    let untested = Outcome::Untested("nothing of ours to compare");
    let want: Vec<(String, usize, Outcome)> = [
        ("mamba.train", 2, Outcome::Holds),
        ("mamba.test", 2, Outcome::Holds),
        ("mamba.ood", 2, Outcome::Holds),
        ("transformer.train", 1, Outcome::Holds),
        ("transformer.test", 1, Outcome::Fails),
        ("transformer.ood", 1, Outcome::Holds),
        ("mamba_residual_posenc.train", 0, untested),
        ("mamba_residual_posenc.test", 0, untested),
        ("mamba_residual_posenc.ood", 0, untested),
    ]
    .into_iter()
    .map(|(k, n, o)| (k.to_string(), n, o))
    .collect();
    assert_eq!(got, want);
    let f = &c.figures[0];
    let v = f.values.as_ref().unwrap();
    assert!((v.rows[1].ours - 0.21).abs() < 1e-12);
    assert_eq!(v.context, [("chance".to_string(), "0.2".to_string())]);
    let setup = common::setup_rows(&f.setup);
    assert_eq!(setup, [("train.batch_size", "1024", vec!["2048"])]);
    assert_eq!(
        c.failures(),
        ["fig7: transformer.test: ours 0.700 vs paper 1 fails |ours - paper| <= 0.2"]
    );
    let text = render::paper_text(&c);
    assert!(text.contains("not compared: chance = 0.2\n"), "{text}");
    assert!(
        text.contains("mamba_residual_posenc.ood     0.60              -       -     0  -                  untested (nothing of ours to compare)"),
        "{text}"
    );
}

#[test]
fn a_malformed_value_section_is_one_sentence() {
    let section = |body: &str| format!("[source]\npaper = \"p\"\n[fig5c_x]\n{body}\n");
    let keys = "pos_composite_final = 0.1\nstandard_composite_final = 0.04\nstandard_symmetric_final = 0.02\n";
    let err = |text: String| Reference::parse(&text, Path::new("r.toml")).unwrap_err().to_string();
    assert_eq!(
        err(section(&format!("pos_symmetric_final = \"high\"\n{keys}"))),
        "r.toml: [fig5c_x] pos_symmetric_final must be a number, not \"high\""
    );
    assert_eq!(
        err(section(keys)),
        "r.toml: [fig5c_x] has no pos_symmetric_final: msym compare compares it with our results and needs it as a number"
    );
    let full = format!("pos_symmetric_final = 0.8\n{keys}");
    assert_eq!(
        err(section(&format!("{full}tolerance = {{ valu = 0.2 }}"))),
        "r.toml: [fig5c_x] tolerance: unknown field `valu`, expected `value` or `bound`"
    );
    assert_eq!(
        err(section(&format!("{full}tolerance = {{ value = -0.2 }}"))),
        "r.toml: [fig5c_x] tolerance: value and bound must be numbers >= 0"
    );
    assert!(Reference::parse(&section(&full), Path::new("r.toml")).is_ok());
}
