//! Gradient accumulation: 4 micro-batches of 512 give the same update as one batch of 2048
//! (f64, so the only difference is summation order: tolerance 1e-12 relative). And mixed
//! precision: a step computed in a narrower type than the master weights updates them
//! like a step computed in the masters' own.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::DType;
use models::{ReplicaInit, build_model, read_params};
use msym_config::ExperimentConfig;
use trainer::data::DeviceData;
use trainer::step::{StepState, train_step};

type B = Autodiff<NdArray<f64>>;

fn config(micro: usize) -> ExperimentConfig {
    let text = format!(
        "[task]\nkind = \"composite\"\nn_samples = 3000\n[model]\nkind = \"mamba2\"\ndepth = 2\nd_model = 8\nd_state = 4\n\
         [train]\nbatch_size = 2048\nmicro_batches = {micro}\n"
    );
    msym_config::parse(&text, std::path::Path::new("t.toml"), &[])
        .unwrap()
        .resolve()
}

type Params = std::collections::BTreeMap<String, models::NamedTensor>;

fn two_steps(micro: usize, compute: Option<DType>) -> Params {
    let cfg = config(micro);
    let device = Default::default();
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    let ds = anchor_data::generate(&cfg.task, 1).unwrap();
    let data = DeviceData::<B>::new(&[ds.clone(), ds], &[1, 2], &device);
    let model = build_model::<B>(&cfg, &replicas, &device);
    let t = &cfg.train;
    let mut s = StepState::new(model, t, compute, &device);
    let order = data.epoch_order(0);
    // Two steps: Adam's first update is nearly sign(g) * lr, the second depends on magnitudes.
    train_step(&mut s, &data, &order, 0, 0, &[1e-3, 2e-3], t);
    // The second step uses the rows 2048.. of the order, wrapping is not needed: 3000
    // samples hold 2531 training rows, so reuse the first batch, now with non-zero moments.
    train_step(&mut s, &data, &order, 0, 1, &[1e-3, 2e-3], t);
    read_params(&s.model)
}

#[test]
fn four_micro_batches_equal_one_full_batch() {
    let (full, acc) = (two_steps(1, None), two_steps(4, None));
    let mut worst: f64 = 0.0;
    for (name, p) in &full {
        let q = &acc[name];
        for (a, b) in p.values.iter().zip(&q.values) {
            worst = worst.max((a - b).abs() / a.abs().max(1e-3));
        }
    }
    assert!(worst < 1e-12, "largest relative difference {worst:e}");
    // The step did move the weights (so the comparison is not of two untouched models).
    let init = initial();
    assert_ne!(
        init["backbone.embedding.weight"].values,
        full["backbone.embedding.weight"].values
    );
}

fn initial() -> Params {
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    read_params(&build_model::<B>(&config(1), &replicas, &Default::default()))
}

/// f64 masters computing in f32 stand in for f32 masters computing in bf16 (the CPU
/// backend has no bf16; the code path is the same). Adam's first steps are close to
/// lr * sign(g), so a gradient within f32 rounding of zero may flip one entry's update:
/// the updates are compared as a whole, by relative L2 distance. Two micro-batches: a cast
/// copy reused across backward passes lost the second micro-batch's gradient (caught here).
#[test]
fn a_step_computed_in_f32_updates_f64_masters_like_an_f64_step() {
    let (start, wide, narrow) = (initial(), two_steps(2, None), two_steps(2, Some(DType::F32)));
    let (mut diff, mut norm) = (0.0, 0.0);
    for (name, p0) in &start {
        for ((a, b), c) in p0.values.iter().zip(&wide[name].values).zip(&narrow[name].values) {
            norm += (b - a).powi(2);
            diff += (c - b).powi(2);
        }
    }
    let rel = (diff / norm).sqrt();
    assert!(norm > 0.0, "the steps moved nothing");
    assert!(rel < 1e-5, "updates differ by {rel:e} relative (L2)");
    assert!(rel > 0.0, "the f32 step computed in f64 after all");
    eprintln!("f32-compute vs f64 update: {rel:e} relative (L2)");
}
