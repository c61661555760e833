//! Parameter counts of the fig3 model (depth 2 and 7) and the CPU forward + backward time
//! of one training step at the paper's batch (2048) for depth 2, with R = 1 and R = 4
//! replicas. Run with `cargo bench -p models`; prints the median of 5 timed steps after
//! one warm-up step. The loss is the mean log-softmax at the last position (the shape of
//! the real cross-entropy).

use std::time::Instant;

use burn::backend::{Autodiff, NdArray};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use models::{Initializer, Mamba2LmConfig, ReplicaInit, count_params};
use msym_config::{InitRule, Mamba2Config};

type B = Autodiff<NdArray<f32>>;

fn config(depth: usize) -> Mamba2LmConfig {
    Mamba2LmConfig {
        block: Mamba2Config {
            depth,
            d_model: 32,
            ..Default::default()
        },
        vocab: 201,
        max_len: 8,
        tied_head: false,
    }
}

fn step_ms(depth: usize, replicas: usize, batch: usize) -> f64 {
    let reps: Vec<ReplicaInit> = (0..replicas as u64)
        .map(|seed| ReplicaInit { seed, gamma: 1.0 })
        .collect();
    let lm = config(depth).init::<B>(
        &Initializer {
            replicas: &reps,
            rule: InitRule::FirstDim,
        },
        &Default::default(),
    );
    let toks: Vec<i64> = (0..replicas * batch * 8).map(|i| 20 + (i as i64 * 7919) % 80).collect();
    let tokens = Tensor::<B, 3, Int>::from_data(TensorData::new(toks, [replicas, batch, 8]), &Default::default());
    let mut times: Vec<f64> = (0..6)
        .map(|_| {
            let start = Instant::now();
            let loss = log_softmax(lm.forward(tokens.clone()), 2).mean().neg();
            let grads = loss.backward();
            std::hint::black_box(lm.embedding.val().grad(&grads));
            start.elapsed().as_secs_f64() * 1e3
        })
        .skip(1)
        .collect();
    times.sort_by(f64::total_cmp);
    times[2]
}

fn main() {
    for depth in [2, 7] {
        let reps = [ReplicaInit { seed: 1, gamma: 1.0 }];
        let lm = config(depth).init::<B>(
            &Initializer {
                replicas: &reps,
                rule: InitRule::FirstDim,
            },
            &Default::default(),
        );
        let (trainable, frozen) = count_params(&lm);
        println!(
            "fig3 model (d_model 32, d_state 128) depth {depth}: {trainable} trainable parameters, {frozen} frozen"
        );
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for replicas in [1, 4] {
        let ms = step_ms(2, replicas, 2048);
        println!(
            "CPU ({threads} threads) depth 2, batch 2048, R = {replicas}: forward + backward {ms:.0} ms per step ({:.0} ms per replica-step)",
            ms / replicas as f64
        );
    }
}
