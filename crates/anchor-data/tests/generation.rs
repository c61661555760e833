//! Properties of generated datasets over at least 10 000 samples per task, each label
//! checked against the independent oracle.

use anchor_data::{
    CompositeTask, Dataset, FullSymmetryTask, InverseMatchingTask, PERMUTATIONS, Split, TaskConfig, generate, oracle,
};

fn composite(n: usize) -> TaskConfig {
    TaskConfig::Composite(CompositeTask {
        n_samples: n,
        ..Default::default()
    })
}

fn full_symmetry(n: usize) -> TaskConfig {
    TaskConfig::FullSymmetry(FullSymmetryTask {
        n_samples: n,
        ..Default::default()
    })
}

fn inverse(n: usize) -> TaskConfig {
    TaskConfig::InverseMatching(InverseMatchingTask {
        n_samples: n,
        ..Default::default()
    })
}

/// Every label, pair, key, position and split equals what the oracle reads off the tokens.
fn assert_oracle_agrees(ds: &Dataset) {
    for s in ds.iter() {
        let o = oracle(&ds.task, s.tokens).unwrap_or_else(|e| panic!("sample {}: {e}", s.index));
        assert_eq!(o.label, s.label, "sample {} {:?}: {}", s.index, s.tokens, o.derivation);
        assert_eq!(o.split, s.group.split, "sample {} split", s.index);
        assert_eq!(o.pair, s.group.pair, "sample {} pair", s.index);
        assert_eq!(o.key, s.key, "sample {} key", s.index);
        assert_eq!(o.position, s.position, "sample {} position", s.index);
    }
}

/// Key at p, anchors at p+1 and p+2, fillers in range and never anchors.
fn assert_anchor_layout(ds: &Dataset, anchors: &[u32], lo: u32, hi: u32) {
    let l = ds.seq_len;
    for s in ds.iter() {
        let p = s.position.expect("position") as usize;
        let [a, b] = s.group.pair.expect("pair");
        assert!(p <= l - 3, "position {p} leaves no room for both anchors");
        assert_eq!(s.tokens[p], s.key.unwrap());
        assert_eq!((s.tokens[p + 1], s.tokens[p + 2]), (a, b));
        for (j, &t) in s.tokens.iter().enumerate() {
            if j != p + 1 && j != p + 2 {
                assert!((lo..=hi).contains(&t), "token {t} at {j} outside the filler range");
                assert!(!anchors.contains(&t), "filler {t} at {j} is an anchor");
            }
        }
        // The split rule of SPEC 1.1, per group.
        let test = s.key.unwrap() as usize % l == p;
        assert_eq!(test, s.group.split == Split::Test);
    }
}

#[test]
fn composite_labels_layout_and_splits() {
    let ds = generate(&composite(20_000), 1).unwrap();
    assert_eq!(ds.len(), 20_000);
    assert_oracle_agrees(&ds);
    assert_anchor_layout(&ds, &[1, 2, 3, 4], 20, 99);
    // Pair 34 uses its own rule (key - 6); pair 43 composes (key - 10); its symmetric answer is key - 6.
    for s in ds.iter() {
        let key = s.key.unwrap();
        match s.group.pair.unwrap() {
            [3, 4] => assert_eq!(s.label, key - 6),
            [4, 3] => {
                assert_eq!(s.label, key - 10);
                assert_eq!(ds.symmetric_label(s.index), Some(key - 6));
            }
            [1, 2] => assert_eq!(s.label, key + 6),
            _ => {}
        }
    }
}

#[test]
fn composite_at_the_paper_size_has_exact_group_sizes() {
    let ds = generate(&composite(300_000), 1).unwrap();
    assert_eq!(ds.groups.len(), 32);
    for g in &ds.groups {
        let expected = if g.split == Split::Train { 16_875 } else { 1_875 };
        assert_eq!(g.size, expected, "group {}", g.name());
        assert_eq!(
            g.trained,
            g.split == Split::Train && g.pair != Some([4, 3]),
            "group {}",
            g.name()
        );
    }
    let mut counted = vec![0usize; ds.groups.len()];
    for m in &ds.meta {
        counted[m.group as usize] += 1;
    }
    assert_eq!(counted, ds.groups.iter().map(|g| g.size).collect::<Vec<_>>());
    let train = ds.training_indices();
    assert_eq!(train.len(), 253_125);
    assert_eq!(train.len() / 2048, 123, "full batches of 2048");
    // Positions and keys cover their whole ranges.
    let positions: std::collections::BTreeSet<u32> = ds.meta.iter().map(|m| m.position.unwrap()).collect();
    assert_eq!(positions, (0..=5).collect());
}

#[test]
fn full_symmetry_labels_layout_and_splits() {
    let ds = generate(&full_symmetry(20_000), 2).unwrap();
    assert_oracle_agrees(&ds);
    assert_anchor_layout(&ds, &[0, 1, 2, 3, 4], 20, 99);
    assert_eq!(ds.groups.len(), 40);
    let trained: Vec<String> = ds.groups.iter().filter(|g| !g.trained).map(|g| g.name()).collect();
    assert_eq!(
        trained.len(),
        21,
        "20 test groups and 43/train are held out: {trained:?}"
    );
    // A pair and its reverse share a label for the same key.
    for s in ds.iter() {
        let [a, b] = s.group.pair.unwrap();
        assert_eq!(ds.label_for([b, a], s.key.unwrap()), Some(s.label));
    }
}

#[test]
fn inverse_matching_labels_structure_and_splits() {
    let ds = generate(&inverse(12_000), 3).unwrap();
    assert_eq!(ds.seq_len, 29);
    assert_oracle_agrees(&ds);
    let sizes: Vec<usize> = ds.groups.iter().map(|g| g.size).collect();
    assert_eq!(sizes, vec![9_600, 1_200, 1_200]);
    let mut label_counts = [0usize; 5];
    for s in ds.iter() {
        label_counts[s.label as usize] += 1;
        let set: Vec<u32> = s.tokens[..3].to_vec();
        let same_class = set.iter().all(|x| x % 3 == set[0] % 3);
        match s.group.split {
            Split::Train => {
                assert!(!same_class && s.tokens.iter().all(|&t| (20..=100).contains(&t)))
            }
            Split::Test => assert!(same_class && s.tokens.iter().all(|&t| (20..=100).contains(&t))),
            Split::Ood => assert!(s.tokens.iter().all(|&t| (101..=200).contains(&t))),
        }
        // Fillers and separators are never set tokens.
        for (j, t) in s.tokens[..26].iter().enumerate() {
            if j % 4 == 3 || j >= 20 {
                assert!(!set.contains(t));
            }
        }
    }
    // Labels near uniform over 0..5 (2400 expected each).
    assert!(
        label_counts.iter().all(|&c| (2_100..=2_700).contains(&c)),
        "{label_counts:?}"
    );
    assert_eq!(PERMUTATIONS.len(), 6);
}

#[test]
fn same_seed_same_digest_other_seed_other_digest() {
    for task in [composite(10_000), full_symmetry(10_000), inverse(10_000)] {
        let a = generate(&task, 1).unwrap().digest();
        assert_eq!(a, generate(&task, 1).unwrap().digest(), "{}", task.name());
        assert_ne!(a, generate(&task, 2).unwrap().digest(), "{}", task.name());
        assert!(a.starts_with("blake3:") && a.len() == 7 + 64);
    }
}

#[test]
fn oracle_rejects_sequences_without_the_task_structure() {
    let task = composite(10);
    assert!(oracle(&task, &[20, 21, 22, 23, 24, 25, 26, 27]).is_err(), "no anchors");
    assert!(
        oracle(&task, &[1, 2, 22, 23, 24, 25, 26, 27]).is_err(),
        "no key before the anchors"
    );
    assert!(
        oracle(&task, &[20, 1, 22, 2, 24, 25, 26, 27]).is_err(),
        "anchors not adjacent"
    );
    let ok = oracle(&task, &[30, 57, 4, 3, 24, 25, 26, 27]).unwrap();
    assert_eq!(
        (ok.label, ok.key, ok.position, ok.split),
        (47, Some(57), Some(1), Split::Test)
    );
    let over = oracle(&task, &[30, 57, 3, 4, 24, 25, 26, 27]).unwrap();
    assert_eq!(over.label, 51);
    assert!(
        over.derivation.contains("composing would give 47"),
        "{}",
        over.derivation
    );
}
