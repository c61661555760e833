//! Gradient accumulation: 4 micro-batches of 512 give the same update as one batch of 2048
//! (f64, so the only difference is summation order: tolerance 1e-12 relative).

use burn::backend::{Autodiff, NdArray};
use burn::tensor::Tensor;
use models::{ReplicaInit, build_model, read_params};
use msym_config::ExperimentConfig;
use trainer::adamw::{AdamHyper, AdamW};
use trainer::data::DeviceData;
use trainer::guard::Guard;
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

fn one_step(micro: usize) -> std::collections::BTreeMap<String, models::NamedTensor> {
    let cfg = config(micro);
    let device = Default::default();
    let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
    let ds = anchor_data::generate(&cfg.task, 1).unwrap();
    let data = DeviceData::<B>::new(&[ds.clone(), ds], &[1, 2], &device);
    let model = build_model::<B>(&cfg, &replicas, &device);
    let names = read_params(&model).into_keys().collect();
    let t = &cfg.train;
    let mut s = StepState {
        model,
        opt: AdamW::new(AdamHyper {
            beta1: t.beta1,
            beta2: t.beta2,
            eps: t.eps,
            weight_decay: t.weight_decay,
        }),
        guard: Guard::new(2, names, &device),
        loss_sum: Tensor::zeros([2, 1], &device),
        loss_steps: 0,
    };
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
    let (full, acc) = (one_step(1), one_step(4));
    let mut worst: f64 = 0.0;
    for (name, p) in &full {
        let q = &acc[name];
        for (a, b) in p.values.iter().zip(&q.values) {
            worst = worst.max((a - b).abs() / a.abs().max(1e-3));
        }
    }
    assert!(worst < 1e-12, "largest relative difference {worst:e}");
    // The step did move the weights (so the comparison is not of two untouched models).
    let init = {
        let cfg = config(1);
        let replicas = [ReplicaInit { seed: 1, gamma: 0.5 }, ReplicaInit { seed: 2, gamma: 1.0 }];
        read_params(&build_model::<B>(&cfg, &replicas, &Default::default()))
    };
    assert_ne!(
        init["backbone.embedding.weight"].values,
        full["backbone.embedding.weight"].values
    );
}
