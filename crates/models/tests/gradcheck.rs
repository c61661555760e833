//! Finite-difference gradient checks in f64: for every Mamba2 block variant and for the
//! language model with each positional encoding and a tied head, autodiff gradients of
//! sum(output * W) equal central differences on sampled entries of every parameter.

mod common;

use std::collections::BTreeMap;

use burn::tensor::Tensor;
use common::{F64, RULE, randn, small_block, to_vec, tokens};
use models::{Initializer, Mamba2LmConfig, ReplicaInit, VisitParams, read_grads, read_params, write_params};
use msym_config::{ConvKind, Mamba2Config, PosEncoding};

const REPLICAS: [ReplicaInit; 1] = [ReplicaInit { seed: 3, gamma: 0.5 }];

fn init() -> Initializer<'static> {
    Initializer {
        replicas: &REPLICAS,
        rule: RULE,
    }
}

/// Compares autodiff with central differences on up to `per_param` entries of each tensor.
fn check<M: VisitParams<F64> + Clone>(model: &M, loss: impl Fn(&M) -> Tensor<F64, 1>, per_param: usize) {
    let value = |m: &M| to_vec(loss(m))[0];
    let grads = loss(model).backward();
    let analytic = read_grads(model, &grads);
    let params = read_params(model);
    let eps = 1e-6;
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (name, p) in &params {
        let g = &analytic[name];
        if !p.trainable {
            assert!(g.is_none(), "{name} is frozen but got a gradient");
            continue;
        }
        let g = g.as_ref().unwrap_or_else(|| panic!("{name} got no gradient"));
        let n = p.values.len();
        for k in (0..n).step_by((n / per_param).max(1)).take(per_param) {
            let shifted = |delta: f64| {
                let mut m = model.clone();
                let mut values = p.values.clone();
                values[k] += delta;
                let src = BTreeMap::from([(name.clone(), values)]);
                write_params(&mut m, &|q: &str| src.get(q).cloned());
                value(&m)
            };
            let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
            let err = (numeric - g[k]).abs();
            if err >= 1e-6 * numeric.abs().max(1.0) {
                wrong.push(format!("{name}[{k}]: autodiff {} vs finite difference {numeric}", g[k]));
            }
            checked += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} entries differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 20, "checked {checked} entries");
}

fn block_check(cfg: Mamba2Config) {
    let block = models::BlockDims::from_config(&cfg).init::<F64>("backbone.layers.0", &init(), &Default::default());
    let h = randn::<F64, 4>([1, 2, 5, cfg.d_model], 7);
    let w = randn::<F64, 4>([1, 2, 5, cfg.d_model], 8);
    check(&block, |b| b.forward(h.clone(), None, false).0.mul(w.clone()).sum(), 6);
}

#[test]
fn mamba2_block_standard() {
    block_check(small_block());
}

#[test]
fn mamba2_block_all_ones_frozen_conv() {
    block_check(Mamba2Config {
        conv: ConvKind::AllOnesFrozen,
        ..small_block()
    });
}

#[test]
fn mamba2_block_residual_around_conv() {
    block_check(Mamba2Config {
        residual_around_conv: true,
        ..small_block()
    });
}

#[test]
fn mamba2_block_gated_residual() {
    block_check(Mamba2Config {
        gated_residual: true,
        ..small_block()
    });
}

fn lm_check(block: Mamba2Config, tied_head: bool) {
    let cfg = Mamba2LmConfig {
        block,
        vocab: 11,
        max_len: 6,
        tied_head,
    };
    let lm = cfg.init::<F64>(&init(), &Default::default());
    let toks = tokens::<F64>([1, 3, 6], 11, 5);
    let w = randn::<F64, 3>([1, 3, 11], 9);
    check(&lm, |m| m.forward(toks.clone()).mul(w.clone()).sum(), 4);
}

#[test]
fn mamba2_lm_without_positions() {
    lm_check(small_block(), false);
}

#[test]
fn mamba2_lm_learned_positions_tied_head() {
    lm_check(
        Mamba2Config {
            pos_encoding: PosEncoding::Learned,
            ..small_block()
        },
        true,
    );
}

#[test]
fn mamba2_lm_sinusoidal_positions() {
    lm_check(
        Mamba2Config {
            pos_encoding: PosEncoding::Sinusoidal,
            ..small_block()
        },
        false,
    );
}

fn small_transformer() -> msym_config::TransformerConfig {
    msym_config::TransformerConfig {
        depth: 2,
        d_model: 4,
        d_k: 3,
        d_v: 5,
        d_ff: 6,
        ..Default::default()
    }
}

fn transformer_block_check(cfg: msym_config::TransformerConfig) {
    let block = models::transformer::init_block::<F64>(&cfg, "layers.0", &init(), &Default::default());
    let h = randn::<F64, 4>([1, 2, 5, cfg.d_model], 17);
    let w = randn::<F64, 4>([1, 2, 5, cfg.d_model], 18);
    check(&block, |b| b.forward(h.clone(), None, false).0.mul(w.clone()).sum(), 6);
}

#[test]
fn transformer_block_relu() {
    transformer_block_check(small_transformer());
}

#[test]
fn transformer_block_with_conv_before_qkv() {
    transformer_block_check(msym_config::TransformerConfig {
        conv_before_qkv: true,
        ..small_transformer()
    });
}

#[test]
fn transformer_block_silu_inverse_task_shape() {
    use msym_config::Activation;
    transformer_block_check(msym_config::TransformerConfig {
        activation: Activation::Silu,
        d_v: 8,
        ..small_transformer()
    });
}

#[test]
fn transformer_lm_with_conv_and_tied_head() {
    let block = msym_config::TransformerConfig {
        conv_before_qkv: true,
        ..small_transformer()
    };
    let cfg = models::TransformerLmConfig {
        block,
        vocab: 11,
        max_len: 6,
        tied_head: true,
    };
    let lm = cfg.init::<F64>(&init(), &Default::default());
    let toks = tokens::<F64>([1, 3, 6], 11, 6);
    let w = randn::<F64, 3>([1, 3, 11], 19);
    check(&lm, |m| m.forward(toks.clone()).mul(w.clone()).sum(), 4);
}
