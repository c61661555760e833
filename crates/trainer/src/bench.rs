//! Step timing for `msym bench`: the training step of a run alone (no evaluation, no
//! checkpoint), R replicas at once, timed after a warm-up that pays kernel compilation.
//! The host waits for the device only at the two clock readings, as in training.

use std::time::Instant;

use anchor_data::generate;
use burn::tensor::backend::AutodiffBackend;
use models::{ReplicaInit, build_model};
use msym_config::ExperimentConfig;
use serde::Serialize;

use crate::data::DeviceData;
use crate::run::compute_dtype;
use crate::schedule::lr_at;
use crate::step::{StepState, train_step};

/// One timed configuration.
#[derive(Debug, Clone, Serialize)]
pub struct StepTiming {
    pub depth: usize,
    pub replicas: usize,
    pub precision: String,
    pub batch: usize,
    pub warmup_steps: usize,
    pub steps: usize,
    /// Wall time of the warm-up steps (kernel compilation and autotuning included).
    pub warmup_s: f64,
    pub ms_per_step: f64,
    /// replicas * steps / seconds: training throughput when a sweep batches R cells.
    pub replica_steps_per_s: f64,
    /// Mean training loss of the timed steps (finite, or the timing measured a broken run).
    pub mean_loss: f64,
    /// Host milliseconds a timed step in each phase (crate::step::HostClock), without
    /// waiting for the device: [forward, backward, optimizer].
    pub host_ms: [f64; 3],
}

/// Called as the timed steps start; what it returns is dropped as the last of them is queued,
/// before the host waits for the device (e.g. a host profiler, which then sees the steps'
/// host work and not the wait).
pub type TimedScope<'a> = &'a dyn Fn() -> Option<Box<dyn std::any::Any>>;

/// Times `steps` training steps of `cfg`'s model with R = `replicas` (seeds 1..=R, all
/// on `cfg`'s dataset) after `warmup` untimed ones, with `scope` around the timed ones.
pub fn time_steps<B: AutodiffBackend>(
    cfg: &ExperimentConfig,
    replicas: usize,
    warmup: usize,
    steps: usize,
    device: &B::Device,
    scope: TimedScope,
) -> Result<StepTiming, String> {
    let t = &cfg.train;
    let batch = t.batch_size.expect("resolved");
    let compute = compute_dtype::<B>(t.precision, device)?;
    let ds = generate(&cfg.task, cfg.data_seed()).map_err(|e| e.to_string())?;
    let seeds: Vec<u64> = (1..=replicas as u64).collect();
    let data = DeviceData::<B>::new(&vec![ds; replicas], &seeds, device);
    let spe = data.steps_per_epoch(batch);
    if spe == 0 {
        return Err(format!(
            "train.batch_size = {batch} leaves no full batch in the training rows"
        ));
    }
    let inits: Vec<ReplicaInit> = seeds
        .iter()
        .map(|&seed| ReplicaInit {
            seed,
            gamma: cfg.init.gamma,
        })
        .collect();
    let mut s = StepState::new(build_model::<B>(cfg, &inits, device), t, compute, device);
    let order = data.epoch_order(0);
    let run = |s: &mut StepState<B>, step: usize| {
        let lr = lr_at(step, spe, t, t.lr_peak);
        train_step(s, &data, &order, (step % spe) * batch, step, &vec![lr; replicas], t);
    };
    let t0 = Instant::now();
    for step in 0..warmup {
        run(&mut s, step);
    }
    // Reading the losses back waits for every queued kernel: the only synchronisation.
    s.take_mean_losses();
    s.host = Default::default();
    let t1 = Instant::now();
    let guard = scope();
    for step in warmup..warmup + steps {
        run(&mut s, step);
    }
    drop(guard);
    let losses = s.take_mean_losses();
    let seconds = t1.elapsed().as_secs_f64();
    let mean_loss = losses.iter().sum::<f64>() / replicas as f64;
    Ok(StepTiming {
        depth: cfg.model.depth(),
        replicas,
        precision: t.precision.name().into(),
        batch,
        warmup_steps: warmup,
        steps,
        warmup_s: (t1 - t0).as_secs_f64(),
        ms_per_step: 1000.0 * seconds / steps as f64,
        replica_steps_per_s: (replicas * steps) as f64 / seconds,
        mean_loss,
        host_ms: [s.host.forward, s.host.backward, s.host.optimizer].map(|d| 1000.0 * d.as_secs_f64() / steps as f64),
    })
}
