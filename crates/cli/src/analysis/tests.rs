//! The analyses on a tiny model trained for a few seconds (configs/smoke.toml at depth 2,
//! two replicas): the checkpoint loader picks the right replica, epoch 0 is the seeded
//! initialization, and neutral interventions (blocking nothing, substituting a sequence's
//! own states) leave every output as it was; the answer tally agrees with the labels.

use std::path::Path;

use burn::backend::Autodiff;
use models::{ReplicaInit, build_model, read_params};
use msym_config::ExperimentConfig;

use super::sequences::{argmax, key_position, per_pair, token_batch};
use super::{answers, blocking, substitution, trained};
use crate::backend::CpuBackend;
use crate::error::CliError;

/// The value, or a panic with the error's sentence (CliError has no Debug).
fn ok<T>(r: Result<T, CliError>) -> T {
    r.unwrap_or_else(|e| panic!("{}", e.message))
}

fn smoke(seed: u64) -> ExperimentConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.toml");
    let sets = [
        format!("seed={seed}"),
        "model.depth=2".to_string(),
        "train.epochs=2".to_string(),
    ];
    msym_config::load(&path, &sets).expect("smoke config")
}

/// A finished two-replica run (seeds 1 and 2) in a temporary directory.
fn trained_run() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let opts = trainer::RunOptions {
        out: dir.path().to_path_buf(),
        ..Default::default()
    };
    let cells = [smoke(1), smoke(2)];
    trainer::train::<Autodiff<CpuBackend>>(&cells, &opts, &Default::default(), &mut |_| {}).expect("training");
    dir
}

#[test]
fn the_loader_reads_the_named_replica_and_rebuilds_its_initialization() {
    let run = trained_run();
    let all = ok(trained::locate(run.path()));
    assert_eq!(all.len(), 2);
    assert!(trained::locate_one(run.path(), Some(2)).is_err());
    let t = ok(trained::load(ok(trained::locate_one(run.path(), Some(1)))));
    assert_eq!((t.at.config.seed, t.epoch), (2, 2));
    // Replica 1 of the checkpoint, loaded the trainer's way into a two-replica model.
    let inits = [1, 2].map(|seed| ReplicaInit { seed, gamma: 1.0 });
    let mut both = build_model::<Autodiff<CpuBackend>>(&smoke(1), &inits, &Default::default());
    let (params, _) = trainer::checkpoint::load_weights(run.path()).unwrap();
    assert!(models::write_params(&mut both, &|n: &str| params.get(n).cloned()).is_empty());
    let (mine, theirs) = (read_params(&t.model), read_params(&both));
    let init_both = read_params(&build_model::<CpuBackend>(&smoke(1), &inits, &Default::default()));
    let init_mine = read_params(&trained::initial(&t.at));
    let mut moved = 0;
    for (name, p) in &mine {
        assert_eq!(p.replica(0), theirs[name].replica(1), "{name}");
        assert_eq!(
            init_mine[name].replica(0),
            init_both[name].replica(1),
            "{name} at epoch 0"
        );
        moved += usize::from(p.replica(0) != init_mine[name].replica(0));
    }
    assert!(moved > 5, "training moved the weights ({moved} tensors changed)");
}

#[test]
fn blocking_nothing_and_substituting_own_states_change_no_output() {
    let run = trained_run();
    let t = ok(trained::load(ok(trained::locate_one(run.path(), None))));
    let ds = ok(trained::dataset(&t.at.config));
    let device = Default::default();
    let pairs = ok(per_pair(&ds, 64));
    assert_eq!(pairs.len(), 16);
    let unseen = ds.unseen_pair.unwrap();
    for p in pairs.iter().take(4).chain(pairs.iter().filter(|p| p.pair == unseen)) {
        let seqs: Vec<Vec<u32>> = p.indices.iter().map(|&i| ds.sample(i).tokens.to_vec()).collect();
        let none = vec![Vec::new(); seqs.len()];
        let (plain, blocked) = blocking::plain_and_blocked(&t.model, 2, &seqs, &none, &vec![0; seqs.len()], &device);
        assert_eq!(plain, blocked, "blocking nothing, pair {:?}", p.pair);
        let from: Vec<usize> = p.indices.iter().map(|&i| key_position(&ds, i) + 3).collect();
        for which in [substitution::Layers::All, substitution::Layers::First] {
            let own = substitution::substituted(&t.model, &seqs, &seqs, &from, which, &device).unwrap();
            assert_eq!(own, plain, "own states ({which:?}), pair {:?}", p.pair);
        }
        assert_eq!(plain, argmax(t.model.forward(token_batch(&seqs, &device))));
    }
    // The unseen pair substituted with its own 43 states: every output is its 43 output.
    let p43 = pairs.iter().find(|p| p.pair == unseen).unwrap();
    let row = substitution::substitute_pair(&t.model, &ds, p43, unseen, substitution::Layers::All, &device).unwrap();
    assert_eq!((row.collapsed, row.unchanged, row.same_before), (row.n, row.n, row.n));
    let ends = p43
        .indices
        .iter()
        .filter(|&&i| key_position(&ds, i) + 3 >= ds.seq_len)
        .count();
    assert_eq!((row.skipped, row.n + row.skipped), (ends, p43.indices.len()));
    assert!(row.skipped > 0 && row.n > 0);
    let b = blocking::block_pair(&t.model, 2, &ds, p43, blocking::Targets::Later, &device);
    assert_eq!(b.n, p43.indices.len());
    // Blocking only the edges into tokens after the anchors blocks a subset of the edges:
    // sequences whose anchors end them have no such token and must keep their output.
    let after = blocking::block_pair(&t.model, 2, &ds, p43, blocking::Targets::AfterAnchors, &device);
    assert_eq!(after.n, b.n);
    assert!(
        after.unchanged >= ends,
        "{} unchanged, {ends} sequences end with their anchors",
        after.unchanged
    );
}

#[test]
fn answers_name_each_offset_by_the_rules_that_give_it_and_count_every_sequence() {
    let run = trained_run();
    let t = ok(trained::load(ok(trained::locate_one(run.path(), None))));
    let ds = ok(trained::dataset(&t.at.config));
    // The paper's shifts (5, 1, -2, -8 for anchors 1-4; pair 34 overridden to -6), by hand:
    // 43's label is -10 and its reverse's -6; -7 is the rule of 24 and of 42.
    let rules = |pair: [u32; 2], offset: i64| answers::rules_for(&ds, pair, offset);
    assert_eq!(rules([4, 3], -10), ["label"]);
    assert_eq!(rules([4, 3], -6), ["symmetric"]);
    assert_eq!(rules([4, 3], -8), ["anchor 4 alone"]);
    assert_eq!(rules([4, 3], -2), ["anchor 3 alone"]);
    assert_eq!(rules([4, 3], -7), ["rule of 24", "rule of 42"]);
    assert_eq!(rules([1, 2], 6), ["label", "symmetric"]);
    assert_eq!(rules([3, 4], -6), ["label"]);
    assert!(rules([4, 3], 0).is_empty());
    let device = Default::default();
    let unseen = ds.unseen_pair.unwrap();
    for p in ok(per_pair(&ds, 64))
        .iter()
        .filter(|p| p.pair == unseen || p.pair == [1, 3])
    {
        let rows = answers::answers_pair(&t.model, &ds, p, &device);
        assert_eq!(rows.iter().map(|r| r.count).sum::<usize>(), p.indices.len());
        assert!(rows.windows(2).all(|w| w[0].count >= w[1].count));
        // The offsets named `label` are exactly the outputs equal to the stored label, and
        // `symmetric` those equal to the reversed pair's label.
        let seqs: Vec<Vec<u32>> = p.indices.iter().map(|&i| ds.sample(i).tokens.to_vec()).collect();
        let out = argmax(t.model.forward(token_batch(&seqs, &device)));
        let tally = |rule: &str| {
            rows.iter()
                .filter(|r| r.rules.iter().any(|x| x == rule))
                .map(|r| r.count)
                .sum::<usize>()
        };
        let is =
            |f: &dyn Fn(usize) -> Option<u32>| (0..seqs.len()).filter(|&k| Some(out[k]) == f(p.indices[k])).count();
        assert_eq!(tally("label"), is(&|i| Some(ds.labels[i])), "pair {:?}", p.pair);
        assert_eq!(tally("symmetric"), is(&|i| ds.symmetric_label(i)), "pair {:?}", p.pair);
    }
}
