//! One Mamba2 block against numbers computed with PyTorch.
//!
//! The golden numbers in tests/golden/mamba2_block.txt were printed by
//!     python3 scripts/mamba2_reference.py golden > crates/models/tests/golden/mamba2_block.txt
//! (PyTorch 2.11, float64, CPU; run on the lent H100 machine, which has PyTorch). That
//! script implements SPEC 2.1 independently: torch's conv1d and the step-by-step SSM
//! recurrence, where this crate uses shifted multiplies and the quadratic form. Weights
//! are 0.5 sin(0.7 k + c) with c = (sum of the name's bytes mod 97) / 10, the input is
//! cos(0.3 k), both over row-major indices k.

mod common;

use std::collections::BTreeMap;

use common::{F64, max_abs_diff, to_vec};
use models::{BlockDims, Initializer, ReplicaInit, read_params, write_params};
use msym_config::{InitRule, Mamba2Config};

const PREFIX: &str = "backbone.layers.0";

fn golden(variant: &str) -> Vec<f64> {
    let text = include_str!("golden/mamba2_block.txt");
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{variant} = ")))
        .expect("variant line");
    let list = line.split_once('[').unwrap().1.trim_end_matches(']');
    list.split(", ").map(|v| v.parse().unwrap()).collect()
}

fn formula(name: &str, n: usize) -> Vec<f64> {
    let c = f64::from(name.bytes().map(u32::from).sum::<u32>() % 97) / 10.0;
    (0..n).map(|k| 0.5 * (0.7 * k as f64 + c).sin()).collect()
}

fn check(cfg: Mamba2Config, variant: &str) {
    let replicas = [ReplicaInit { seed: 1, gamma: 1.0 }];
    let init = Initializer {
        replicas: &replicas,
        rule: InitRule::FirstDim,
    };
    let mut block = BlockDims::from_config(&cfg).init::<F64>(PREFIX, &init, &Default::default());
    let values: BTreeMap<String, Vec<f64>> = read_params(&block)
        .into_iter()
        .map(|(name, p)| (name.clone(), formula(&format!("{PREFIX}{name}"), p.values.len())))
        .collect();
    assert!(write_params(&mut block, &|n: &str| values.get(n).cloned()).is_empty());
    let d = cfg.d_model;
    let h: Vec<f64> = (0..2 * 6 * d).map(|k| (0.3 * k as f64).cos()).collect();
    let h =
        burn::tensor::Tensor::<F64, 4>::from_data(burn::tensor::TensorData::new(h, [1, 2, 6, d]), &Default::default());
    let ours = to_vec(block.forward(h, None, false).0);
    let expected = golden(variant);
    assert_eq!(ours.len(), expected.len());
    assert!(
        max_abs_diff(&ours, &expected) < 1e-12,
        "{variant}: max diff {}",
        max_abs_diff(&ours, &expected)
    );
}

fn golden_block() -> Mamba2Config {
    Mamba2Config {
        depth: 1,
        d_model: 4,
        d_state: 3,
        expand: 2,
        d_conv: 4,
        ..Default::default()
    }
}

#[test]
fn standard_block_matches_pytorch() {
    check(golden_block(), "standard");
}

#[test]
fn residual_around_conv_block_matches_pytorch() {
    check(
        Mamba2Config {
            residual_around_conv: true,
            ..golden_block()
        },
        "residual_around_conv",
    );
}
