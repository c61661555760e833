//! The single-value comparisons on the project's own committed results and reference: the
//! finished fig5c sweep gives its README's values at epoch 210 and all four checks hold
//! (values from runs still training are covered by tests/values.rs); the fig4 analyses of
//! the trained fig3 cell give the shares its README reports; the fig3 depth-2 row killed at
//! epoch 144 (metrics only) is read, taken into the phase table only with the option, and
//! agrees with the independent snapshot.py of its folder; the fig3 spot check pairs on seed
//! 1 and finds depth 2 the same bits; every value figure of the reference has the
//! tolerances its checks need.

use std::path::{Path, PathBuf};

use msym_compare::{
    Bound, Outcome, PaperComparison, PaperOptions, Reference, VALUE_FIGURES, compare_to_paper, compare_to_paper_with,
    read_results,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn compare(dir: &str) -> PaperComparison {
    let dir = repo().join(dir);
    let r = Reference::load(&repo().join("references/paper_results.toml")).unwrap();
    compare_to_paper(&dir, &read_results(&dir).unwrap(), &r, Path::new("ref")).unwrap()
}

#[test]
fn the_finished_fig5c_sweep_is_compared_at_epoch_210_and_all_four_checks_hold() {
    let sets = read_results(&repo().join("results/fig5c")).unwrap();
    assert_eq!(
        (sets[0].cells.len(), sets[0].in_progress.len(), sets[0].pending),
        (6, 0, 0)
    );
    let c = compare("results/fig5c");
    assert_eq!((c.in_progress, c.pending, c.figures.len()), (0, 0, 1));
    let f = &c.figures[0];
    assert_eq!((f.figure.id.as_str(), f.cells, f.in_progress), ("fig5c", 6, 0));
    assert!(f.setup.is_empty(), "{:?}", f.setup);
    let v = f.values.as_ref().unwrap();
    // Pair 43's test group (3750 sequences) at epoch 210, seeds 1, 2, 3 (the run's README):
    // sinusoidal symmetric 1034 / 3638 / 2748 and composite 2122 / 112 / 1002; standard
    // composite 278 / 128 / 460 and symmetric 12 / 94 / 190. Mean and sample std.
    let got: Vec<(&str, f64, f64, Outcome)> = v
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.ours, r.ours_std, r.outcome()))
        .collect();
    let want = [
        ("pos_symmetric_final", [1034.0, 3638.0, 2748.0], 0.352946740),
        ("pos_composite_final", [2122.0, 112.0, 1002.0], 0.268584217),
        ("standard_composite_final", [278.0, 128.0, 460.0], 0.044335155),
        ("standard_symmetric_final", [12.0, 94.0, 190.0], 0.023757790),
    ];
    assert_eq!(got.len(), want.len());
    for ((key, ours, std, outcome), (k, counts, sd)) in got.iter().zip(want) {
        let mean = counts.iter().sum::<f64>() / 3.0 / 3750.0;
        assert_eq!(*key, k);
        assert!((ours - mean).abs() < 1e-12, "{key}: {ours} vs {mean}");
        assert!((std - sd).abs() < 1e-9, "{key}: std {std} vs {sd}");
        assert_eq!(*outcome, Outcome::Holds, "{key}");
    }
    for r in &v.rows {
        assert_eq!(
            (r.seeds, r.epochs, r.planned, r.is_final),
            (3, Some((210, 210)), Some(210), true)
        );
        assert_eq!(r.when(), "final (epoch 210)");
    }
    assert!(c.failures().is_empty(), "{:?}", c.failures());
}

#[test]
fn the_fig4_analyses_of_the_trained_fig3_cell_give_its_readmes_shares() {
    let c = compare("results/fig3-cell-d3-g1-s1-bf16");
    let ids: Vec<&str> = c.figures.iter().map(|f| f.figure.id.as_str()).collect();
    assert_eq!(ids, ["fig3", "fig4"]);
    let v = c.figures[1].values.as_ref().unwrap();
    let got: Vec<(&str, f64, Outcome, &str)> = v
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.ours, r.outcome(), r.detail.as_deref().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "blocking_agreement_min",
                139.0 / 480.0,
                Outcome::Fails,
                "lowest pair 32 (139 of 480); all 16 pairs: 3506 of 7680 = 0.457; the unmodified model's accuracy on them: 0.982"
            ),
            (
                "substitution_collapse_min",
                261.0 / 399.0,
                Outcome::Fails,
                "lowest pair 13 (261 of 399); all 15 pairs: 4313 of 6045 = 0.713"
            ),
        ]
    );
    assert!(c.figures[1].setup.is_empty(), "480 sequences per pair, as the paper");
}

#[test]
fn every_value_figure_of_the_reference_has_the_tolerances_its_checks_need() {
    let r = Reference::load(&repo().join("references/paper_results.toml")).unwrap();
    let ids: Vec<&str> = r.values.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["fig4", "fig5a", "fig5b", "fig5c", "fig7"]);
    for f in &r.values {
        let tol = f.tolerance.unwrap_or_else(|| panic!("{} has no tolerance", f.id));
        let bounds: Vec<Bound> = match VALUE_FIGURES.iter().find(|t| t.id == f.id) {
            Some(t) => t.targets.iter().map(|t| t.bound).collect(),
            None => vec![Bound::AtLeast],
        };
        for b in bounds {
            let set = match b {
                Bound::Near => tol.value,
                Bound::AtMost | Bound::AtLeast => tol.bound,
            };
            assert!(set.is_some(), "{}: no tolerance for a {b:?} check", f.id);
        }
    }
    assert_eq!(r.value_figure("fig4").unwrap().tolerance.unwrap().bound, Some(0.0));
}

#[test]
fn the_killed_fig3_depth_2_row_is_compared_at_epoch_144_only_when_asked_and_matches_its_snapshot() {
    let dir = repo().join("results/fig3-d2-epoch144");
    let sets = read_results(&dir).unwrap();
    assert_eq!(
        (sets[0].cells.len(), sets[0].in_progress.len(), sets[0].pending),
        (0, 36, 180)
    );
    let r = Reference::load(&repo().join("references/paper_results.toml")).unwrap();
    let left_out = compare_to_paper(&dir, &sets, &r, Path::new("ref")).unwrap();
    assert!(left_out.figures[0].table.as_ref().unwrap().diffs.is_empty());
    let opts = PaperOptions {
        phase_in_progress: true,
        ..PaperOptions::default()
    };
    let c = compare_to_paper_with(&dir, &sets, &r, Path::new("ref"), opts).unwrap();
    let t = c.figures[0].table.as_ref().unwrap();
    assert_eq!(t.diffs.len(), 24);
    assert!(t.diffs.iter().all(|d| d.depth == 2 && !d.is_final && d.seeds == 3));
    // snapshot.py (Python, its own CSV reading) wrote each replica's epoch-144 accuracies.
    let snapshot = std::fs::read_to_string(dir.join("snapshot.csv")).unwrap();
    for d in &t.diffs {
        let col = if d.metric == "composite" { 3 } else { 4 };
        let values: Vec<f64> = snapshot
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f[0].parse::<f64>().unwrap() == d.gamma && f[2] == "144")
            .map(|f| f[col].parse().unwrap())
            .collect();
        assert_eq!(values.len(), 3, "gamma {}", d.gamma);
        let mean = values.iter().sum::<f64>() / 3.0;
        assert!(
            (d.ours - mean).abs() < 1e-4,
            "gamma {} {}: {} vs {mean}",
            d.gamma,
            d.metric,
            d.ours
        );
    }
    // The README's mean absolute errors against the paper's depth-2 row.
    let mae = |m: &str| {
        let v: Vec<f64> = t.diffs.iter().filter(|d| d.metric == m).map(|d| d.diff.abs()).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert_eq!(
        ((mae("composite") * 100.0).round(), (mae("symmetric") * 100.0).round()),
        (16.0, 17.0)
    );
}

/// `--value max` on the committed fig3-choices sweeps: every phase cell is the mean of its
/// seeds' maxima, which results/fig3-choices/choices.py computed independently into
/// choices.csv (composite_max, symmetric_max, 4 decimals); the table, the heatmaps and the
/// report say which value they hold.
#[test]
fn value_max_compares_each_cells_best_epoch_as_choices_py_computed_it() {
    let r = Reference::load(&repo().join("references/paper_results.toml")).unwrap();
    let csv = std::fs::read_to_string(repo().join("results/fig3-choices/choices.csv")).unwrap();
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    for choice in ["seq9", "fanin", "tied", "lr2e-4"] {
        let dir = repo().join("results/fig3-choices").join(choice);
        let sets = read_results(&dir).unwrap();
        let opts = PaperOptions {
            phase_value: msym_compare::PhaseValue::Max,
            ..PaperOptions::default()
        };
        let c = compare_to_paper_with(&dir, &sets, &r, Path::new("ref"), opts).unwrap();
        let f = &c.figures[0];
        assert_eq!(f.rows.len(), 4, "{choice}");
        for row in csv.lines().skip(1).map(|l| l.split(',').collect::<Vec<&str>>()) {
            if row[col("choice")] != choice {
                continue;
            }
            let gamma: f64 = row[col("gamma")].parse().unwrap();
            let ours = f.rows.iter().find(|p| p.depth == 2 && p.gamma == gamma).unwrap();
            for (value, name) in [(ours.composite.0, "composite_max"), (ours.symmetric.0, "symmetric_max")] {
                let want: f64 = row[col(name)].parse().unwrap();
                assert!(
                    (value - want).abs() < 5e-5,
                    "{choice} gamma {gamma} {name}: {value} vs {want}"
                );
            }
        }
        assert!(
            f.heatmaps
                .iter()
                .all(|h| h.name.ends_with("_max") && h.title.ends_with("max over epochs"))
        );
        assert!(
            f.note.as_deref().unwrap().starts_with("ours are each seed's max"),
            "{:?}",
            f.note
        );
        let value = f
            .defaults
            .iter()
            .find(|d| d.what == "value compared with a heatmap cell")
            .unwrap();
        assert_eq!(
            value.ours,
            ["max over the evaluated epochs, mean over seeds (--value max)"]
        );
        // The default compares the final epoch, as before (choices.csv's composite_final).
        let fin = compare_to_paper(&dir, &sets, &r, Path::new("ref")).unwrap();
        for row in csv.lines().skip(1).map(|l| l.split(',').collect::<Vec<&str>>()) {
            if row[col("choice")] == choice {
                let gamma: f64 = row[col("gamma")].parse().unwrap();
                let p = fin.figures[0].rows.iter().find(|p| p.gamma == gamma).unwrap();
                let want: f64 = row[col("composite_final")].parse().unwrap();
                assert!((p.composite.0 - want).abs() < 5e-5, "{choice} gamma {gamma} final");
            }
        }
        assert!(fin.figures[0].note.is_none());
    }
}

/// results/fig3-spot/README.md: the four cells trained alone (R = 1, plain ops) against the
/// sweep, paired on seed 1. Depth 2 (batched on the plain ops too) is the same bits, so
/// every difference is zero; depth 3 (batched with the speed paths) parts after epoch 5, and
/// the README's gamma-1.0 miss is B - A = 0.583 - 0.336 on that seed.
#[test]
fn the_fig3_spot_check_pairs_on_seed_1_and_depth_2_is_the_same_bits() {
    let cells = |d: &str| -> Vec<msym_compare::CellResult> {
        read_results(&repo().join(d))
            .unwrap()
            .into_iter()
            .flat_map(|s| s.cells)
            .collect()
    };
    let c = msym_compare::compare_runs(&cells("results/fig3-spot"), &cells("results/fig3"));
    let of = |group: &str, metric: &str| {
        c.metrics
            .iter()
            .find(|m| m.group == group && m.metric == metric)
            .unwrap_or_else(|| panic!("{group} {metric}"))
    };
    let depth2: Vec<_> = c
        .metrics
        .iter()
        .filter(|m| m.group.ends_with("model.depth=2"))
        .collect();
    assert_eq!(depth2.len(), 14, "two cells x seven metrics");
    for m in depth2 {
        assert_eq!((m.paired.as_slice(), m.diff_mean), (&[1u64][..], 0.0), "{m:?}");
    }
    let miss = of("init.gamma=1.0;model.depth=3", "composite_test");
    assert_eq!((miss.a.2, miss.b.2, miss.paired.as_slice()), (1, 3, &[1u64][..]));
    assert!((miss.a.0 - 0.336).abs() < 1e-9, "{miss:?}");
    assert!((miss.diff_mean - (0.5834666666666667 - 0.336)).abs() < 1e-9, "{miss:?}");
    let agree = of("init.gamma=1.5;model.depth=3", "composite_test");
    assert!(agree.diff_mean.abs() < agree.b.1, "within the seeds' std: {agree:?}");
}
