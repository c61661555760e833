//! The first training steps of a run, replayed for `msym verify seeds`: the same data,
//! order, initial weights, schedule and optimizer as `train`, R = 1, with the loss of every
//! step read back.

use anchor_data::generate;
use burn::tensor::backend::AutodiffBackend;
use models::{ReplicaInit, build_model};
use msym_config::ExperimentConfig;

use crate::data::DeviceData;
use crate::run::compute_dtype;
use crate::schedule::lr_at;
use crate::step::{StepState, train_step};

/// What one replay produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstSteps {
    /// [`models::weights_digest`] of the initial weights as read back from the device.
    pub weights_digest: String,
    /// Training loss of each step, exactly as the backend computed it (f32 widened to f64
    /// without rounding).
    pub losses: Vec<f64>,
}

/// The first `n` steps of `cfg` (its seed, data seed and gamma).
pub fn first_steps<B: AutodiffBackend>(
    cfg: &ExperimentConfig,
    n: usize,
    device: &B::Device,
) -> Result<FirstSteps, String> {
    let t = &cfg.train;
    let batch = t.batch_size.expect("resolved");
    let compute = compute_dtype::<B>(t.precision, device)?;
    let ds = generate(&cfg.task, cfg.data_seed()).map_err(|e| e.to_string())?;
    let data = DeviceData::<B>::new(&[ds], &[cfg.seed], device);
    let spe = data.steps_per_epoch(batch);
    if spe == 0 {
        return Err(format!(
            "train.batch_size = {batch} leaves no full batch in the training rows"
        ));
    }
    let init = [ReplicaInit {
        seed: cfg.seed,
        gamma: cfg.init.gamma,
    }];
    let model = build_model::<B>(cfg, &init, device);
    let weights_digest = models::weights_digest(&models::read_params(&model), 0);
    let mut s = StepState::new(model, t, compute, device);
    let mut losses = Vec::with_capacity(n);
    let mut order = data.epoch_order(0);
    for step in 0..n {
        let (epoch, k) = (step / spe, step % spe);
        if k == 0 && epoch > 0 {
            order = data.epoch_order(epoch);
        }
        let lr = lr_at(step, spe, t, t.lr_peak);
        train_step(&mut s, &data, &order, k * batch, step, &[lr], t);
        losses.push(s.take_mean_losses()[0]);
    }
    Ok(FirstSteps { weights_digest, losses })
}
