//! Profile: forward and backward time of one training step, peak memory, and the largest
//! batch that fits. The largest batch is an estimate: peak memory is read after a step
//! at half the batch and again after steps at the full batch; the growth per sample
//! between the two, divided into the memory still available, says how far the batch could
//! grow. Each time is taken with the device synchronised (a host read of the loss after
//! the forward, `B::sync` after the backward), so queued kernels are not missed.

use std::time::Instant;

use anchor_data::Dataset;
use burn::tensor::backend::AutodiffBackend;
use models::Model;

use super::batch::{first_rows, host};
use super::memory::MemoryProbe;
use super::{Check, Status};
use crate::loss::cross_entropy;

const MIB: f64 = 1024.0 * 1024.0;

/// (forward seconds, backward seconds) of one step on the first `b` training rows.
fn step<B: AutodiffBackend>(model: &Model<B>, ds: &Dataset, b: usize, device: &B::Device) -> (f64, f64) {
    let (tokens, labels) = first_rows::<B>(ds, b, device);
    let t0 = Instant::now();
    let loss = cross_entropy(model.forward(tokens), labels).sum(); // [1]
    let _ = host(loss.clone().inner());
    let forward = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let grads = loss.backward();
    let _ = B::sync(device);
    let backward = t1.elapsed().as_secs_f64();
    drop(grads);
    (forward, backward)
}

/// Times `steps` steps at batch `batch` after an untimed one at half and one at the full
/// batch (the first run of a shape compiles kernels on a GPU).
pub fn profile<B: AutodiffBackend>(
    model: &Model<B>,
    ds: &Dataset,
    batch: usize,
    steps: usize,
    memory: &MemoryProbe,
    device: &B::Device,
) -> Check {
    let rows = ds.training_indices().len();
    let batch = batch.min(rows);
    let half = (batch / 2).max(1);
    step(model, ds, half, device);
    let at_half = memory.read();
    step(model, ds, batch, device);
    let (mut fwd, mut bwd) = (0.0, 0.0);
    for _ in 0..steps.max(1) {
        let (f, b) = step(model, ds, batch, device);
        fwd += f;
        bwd += b;
    }
    let n = steps.max(1) as f64;
    let (fwd_ms, bwd_ms) = (1e3 * fwd / n, 1e3 * bwd / n);
    let timing = format!(
        "batch {batch}: forward {fwd_ms:.1} ms, backward {bwd_ms:.1} ms per step (mean of {} steps)",
        steps.max(1)
    );
    let memory_line = match (at_half, memory.read()) {
        (Ok(h), Ok(f)) => {
            let per_sample = f.peak.saturating_sub(h.peak) as f64 / (batch - half).max(1) as f64;
            let largest = if per_sample > 0.0 {
                format!(
                    "largest batch that fits about {} (estimated: +{:.1} KiB per sample between batch {half} and {batch}, {:.0} MiB available)",
                    batch + (f.available as f64 / per_sample) as usize,
                    per_sample / 1024.0,
                    f.available as f64 / MIB
                )
            } else {
                format!("largest batch not estimated: the peak did not grow from batch {half} to {batch}")
            };
            format!("peak resident memory {:.0} MiB; {largest}", f.peak as f64 / MIB)
        }
        (Err(why), _) | (_, Err(why)) => format!("peak memory not measured: {why}"),
    };
    Check::new("profile", Status::Pass, timing)
        .details(vec![memory_line])
        .hint("if a step is too slow or too big: train.micro_batches accumulates gradients over smaller pieces, train.precision = \"bf16\" halves activations on CUDA")
}
