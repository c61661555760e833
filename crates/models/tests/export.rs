//! Safetensors export: mamba_ssm's names and PyTorch's shapes, one file per replica, and a
//! round trip through files that rebuilds the same model.

mod common;

use std::collections::BTreeMap;

use burn::backend::NdArray;
use common::{max_abs_diff, to_vec, tokens};
use models::export::{load_safetensors, to_safetensors};
use models::{Mamba2LmConfig, ReplicaInit, read_params};
use msym_config::{InitRule, Mamba2Config};
use safetensors::SafeTensors;

type B = NdArray<f32>;

fn config() -> Mamba2LmConfig {
    Mamba2LmConfig {
        block: Mamba2Config {
            depth: 2,
            ..Default::default()
        },
        vocab: 201,
        max_len: 8,
        tied_head: false,
    }
}

fn replicas(seeds: &[u64]) -> Vec<ReplicaInit> {
    seeds.iter().map(|&seed| ReplicaInit { seed, gamma: 1.0 }).collect()
}

#[test]
fn names_and_shapes_follow_mamba_ssm() {
    let r = replicas(&[1]);
    let lm = config().init::<B>(
        &models::Initializer {
            replicas: &r,
            rule: InitRule::FirstDim,
        },
        &Default::default(),
    );
    let bytes = to_safetensors(&lm, 0, &BTreeMap::from([("gamma".into(), "1.0".into())])).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<(String, Vec<usize>)> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n.to_string(), t.shape().to_vec()))
        .collect();
    names.sort();
    let expect = |n: &str, s: &[usize]| (n.to_string(), s.to_vec());
    let mut want = vec![
        expect("backbone.embedding.weight", &[201, 32]),
        expect("backbone.norm_f.weight", &[32]),
        expect("lm_head.weight", &[201, 32]),
    ];
    for i in 0..2 {
        let l = |s: &str| format!("backbone.layers.{i}.{s}");
        want.push(expect(&l("norm.weight"), &[32]));
        want.push(expect(&l("mixer.in_proj.weight"), &[2 * 64 + 2 * 128 + 1, 32]));
        want.push(expect(&l("mixer.conv1d.weight"), &[64 + 256, 1, 4]));
        want.push(expect(&l("mixer.conv1d.bias"), &[320]));
        want.push(expect(&l("mixer.dt_bias"), &[1]));
        want.push(expect(&l("mixer.A_log"), &[1]));
        want.push(expect(&l("mixer.D"), &[1]));
        want.push(expect(&l("mixer.norm.weight"), &[64]));
        want.push(expect(&l("mixer.out_proj.weight"), &[32, 64]));
    }
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn files_per_replica_round_trip_to_the_same_model() {
    let r = replicas(&[4, 5]);
    let init = models::Initializer {
        replicas: &r,
        rule: InitRule::FirstDim,
    };
    let lm = config().init::<B>(&init, &Default::default());
    let files: Vec<Vec<u8>> = (0..2)
        .map(|i| to_safetensors(&lm, i, &BTreeMap::new()).unwrap())
        .collect();
    let other = replicas(&[8, 9]);
    let mut fresh = config().init::<B>(
        &models::Initializer {
            replicas: &other,
            rule: InitRule::FirstDim,
        },
        &Default::default(),
    );
    let toks = tokens::<B>([2, 3, 8], 201, 1);
    assert!(max_abs_diff(&to_vec(fresh.forward(toks.clone())), &to_vec(lm.forward(toks.clone()))) > 1e-3);
    load_safetensors(&mut fresh, &files).unwrap();
    assert_eq!(read_params(&fresh), read_params(&lm));
    assert_eq!(to_vec(fresh.forward(toks.clone())), to_vec(lm.forward(toks)));
    // A file of another architecture is refused with the offending name.
    let tiny = Mamba2LmConfig {
        block: Mamba2Config {
            depth: 1,
            ..Default::default()
        },
        ..config()
    };
    let mut one = tiny.init::<B>(
        &models::Initializer {
            replicas: &r[..1],
            rule: InitRule::FirstDim,
        },
        &Default::default(),
    );
    let err = load_safetensors(&mut one, &files[..1]).unwrap_err();
    assert!(err.contains("backbone.layers.1"), "{err}");
}
