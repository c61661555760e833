//! Helpers shared by the model tests: backends, seeded random tensors, small configs.
#![allow(dead_code)]

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use models::init::{normals, tensor_rng};
use msym_config::{ExperimentConfig, InitRule, Mamba2Config};

/// f64 CPU backend with autodiff: the backend of every numerical check.
pub type F64 = Autodiff<NdArray<f64>>;
pub type F64Inner = NdArray<f64>;
pub type F32 = Autodiff<NdArray<f32>>;

/// A tensor of N(0, 1) draws, reproducible from `seed`.
pub fn randn<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(
        TensorData::new(normals(&mut tensor_rng(seed, "test"), n), shape),
        &Default::default(),
    )
}

/// Random token ids in 0..vocab, [R, B, L].
pub fn tokens<B: Backend>(shape: [usize; 3], vocab: usize, seed: u64) -> Tensor<B, 3, Int> {
    let n = shape.iter().product();
    let v: Vec<i64> = normals(&mut tensor_rng(seed, "tokens"), n)
        .iter()
        .map(|z| ((z.abs() * 1e6) as i64) % vocab as i64)
        .collect();
    Tensor::from_data(TensorData::new(v, shape), &Default::default())
}

pub fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// A small Mamba2 block for numerical checks.
pub fn small_block() -> Mamba2Config {
    Mamba2Config {
        depth: 2,
        d_model: 4,
        d_state: 3,
        expand: 2,
        d_conv: 4,
        ..Default::default()
    }
}

pub const RULE: InitRule = InitRule::FirstDim;

/// A composite task on a 13-token vocabulary and length-6 sequences, with `model` as the
/// body of its [model] section.
pub fn tiny_config(model: &str) -> ExperimentConfig {
    let text = format!(
        "[task]\nkind = \"composite\"\nseq_len = 6\nvocab_size = 13\nanchors = [1, 2]\nshifts = [1, 2]\n\
         pair_overrides = []\nunseen_pair = [2, 1]\nfiller_min = 5\nfiller_max = 10\n[model]\n{model}\n"
    );
    msym_config::parse(&text, std::path::Path::new("test.toml"), &[])
        .unwrap()
        .resolve()
}

/// Logits and every parameter's gradient (read_grads) of one way of computing a model.
pub type Computed = (Vec<f64>, std::collections::BTreeMap<String, Option<Vec<f64>>>);

/// The model of `cfg` with two replicas (seeds 1, 2 at gamma 0.5, 1.0) on fixed tokens
/// [2, 5, 6] (vocab 13): its logits, and the gradients of a fixed random weighting of them.
/// What the switch tests compare with a path off and on.
pub fn model_outputs(cfg: &ExperimentConfig) -> Computed {
    let replicas = [
        models::ReplicaInit { seed: 1, gamma: 0.5 },
        models::ReplicaInit { seed: 2, gamma: 1.0 },
    ];
    let model = models::build_model::<F64>(cfg, &replicas, &Default::default());
    let logits = model.forward(tokens::<F64>([2, 5, 6], 13, 3));
    let w = randn::<F64, 3>([2, 5, 13], 4);
    let grads = models::read_grads(&model, &logits.clone().mul(w).sum().backward());
    (to_vec(logits), grads)
}

/// Two ways of computing the same model agree: logits to `logits_tol`, each gradient to
/// `grad_tol` times its largest entry (at least 1e-3), and the same parameters have gradients.
pub fn assert_same_model(
    label: &str,
    (a, a_grads): &Computed,
    (b, b_grads): &Computed,
    logits_tol: f64,
    grad_tol: f64,
) {
    let d = max_abs_diff(a, b);
    assert!(d < logits_tol, "{label}: logits differ by {d:.2e}");
    assert_eq!(a_grads.len(), b_grads.len(), "{label}: parameters");
    for (name, g) in a_grads {
        match (g, &b_grads[name]) {
            (Some(g), Some(h)) => {
                let scale = g.iter().map(|v| v.abs()).fold(1e-3, f64::max);
                let diff = max_abs_diff(g, h);
                assert!(
                    diff < grad_tol * scale,
                    "{label}: gradient of {name} differs by {diff:.2e}"
                );
            }
            (None, None) => {}
            _ => panic!("{label}: {name} has a gradient on one path only"),
        }
    }
}
