//! Overfit test: a model that cannot fit 10 samples will not fit 250 000. The first
//! `n` training rows form one batch; the training step of a run (AdamW, clipping, guard)
//! runs on it at the config's peak learning rate, held constant, until every sample is
//! predicted right or the step budget is spent.

use anchor_data::Dataset;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use models::Model;
use msym_config::ExperimentConfig;

use super::batch::{first_rows, host};
use super::{Check, Status};
use crate::data::DeviceData;
use crate::step::{StepState, train_step};

/// Accuracy is read every this many steps (a forward pass of `n` samples each time).
const CHECK_EVERY: usize = 10;

fn accuracy<B: AutodiffBackend>(model: &Model<B>, tokens: &Tensor<B::InnerBackend, 3, Int>, labels: &[f64]) -> usize {
    let predicted = host(model.valid().forward(tokens.clone()).argmax(2).float()); // [1, n, 1]
    predicted.iter().zip(labels).filter(|(p, y)| p == y).count()
}

/// `steps` steps on the first `n` training rows of `ds`.
pub fn overfit<B: AutodiffBackend>(
    model: Model<B>,
    ds: &Dataset,
    cfg: &ExperimentConfig,
    n: usize,
    steps: usize,
    device: &B::Device,
) -> Check {
    let (tokens, labels) = first_rows::<B::InnerBackend>(ds, n, device);
    let n = tokens.dims()[1];
    let host_labels = host(labels.clone().float());
    let data = DeviceData::<B> {
        tokens: Tensor::from_inner(tokens.clone().reshape([n, ds.seq_len])),
        labels: Tensor::from_inner(labels.reshape([n])),
        n,
        seq_len: ds.seq_len,
        train_rows: vec![(0..n).collect()],
        seeds: vec![cfg.seed],
    };
    let order = Tensor::<B, 2, Int>::from_data(TensorData::new((0..n as i64).collect::<Vec<_>>(), [1, n]), device);
    let mut t = cfg.train.clone();
    t.batch_size = Some(n);
    t.micro_batches = 1;
    let lr = t.lr_peak;
    let mut s = StepState::new(model, &t, None, device);
    let mut curve = Vec::with_capacity(steps);
    let mut correct = accuracy(&s.model, &tokens, &host_labels);
    let mut done_at = (correct == n).then_some(0);
    for step in 0..steps {
        if done_at.is_some() {
            break;
        }
        train_step(&mut s, &data, &order, 0, step, &[lr], &t);
        curve.push(s.take_mean_losses()[0]);
        if (step + 1) % CHECK_EVERY == 0 || step + 1 == steps {
            correct = accuracy(&s.model, &tokens, &host_labels);
            if correct == n {
                done_at = Some(step + 1);
            }
        }
    }
    let last = curve.last().copied().unwrap_or(f64::NAN);
    match done_at {
        Some(k) => Check::new(
            "overfit",
            Status::Pass,
            format!("{n}/{n} samples right after {k} steps (budget {steps}) at lr {lr:.2e}; loss {last:.3e}"),
        ),
        None => {
            // Ten points of the loss curve, evenly spaced, first and last included.
            let m = curve.len();
            let mut at: Vec<usize> = (0..10).map(|i| i * m.saturating_sub(1) / 9).collect();
            at.dedup();
            let points: Vec<String> = at
                .into_iter()
                .filter(|&k| k < m)
                .map(|k| format!("step {}: {:.4e}", k + 1, curve[k]))
                .collect();
            Check::new(
                "overfit",
                Status::Fail,
                format!("{correct}/{n} samples right after {steps} steps at lr {lr:.2e}; final loss {last:.3e}"),
            )
            .details(vec![format!("loss curve: {}", points.join(", "))])
            .hint(if last.is_finite() {
                "the model cannot memorize a handful of samples: check gradient flow and labels (msym verify labels); if the loss still falls, raise --overfit-steps or train.lr_peak"
            } else {
                "the loss became non-finite: lower train.lr_peak (see the NaN hunt), keep train.grad_clip at 1.0"
            })
        }
    }
}
