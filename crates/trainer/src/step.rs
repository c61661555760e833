//! One optimizer step for all replicas: forward and backward over the micro-batches,
//! gradient accumulation, NaN guard, per-replica global clipping, AdamW.

use std::collections::BTreeMap;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorData};
use models::{Model, cast_module, widen};
use msym_config::TrainConfig;

use crate::adamw::{AdamHyper, AdamW, Clip};
use crate::data::DeviceData;
use crate::flat::FlatLayout;
use crate::grads::{accumulate, apply, collect, values};
use crate::guard::Guard;
use crate::loss::cross_entropy;

/// Whether a step starts from the row the last update wrote ([`StepState`]'s flat_params)
/// instead of laying the model's parameters end to end again: MSYM_KEEP_FLAT_PARAMS, on
/// unless "0". The weights are the same bits either way (tests/flat_params.rs); the switch
/// is for measuring the kernels it saves on a GPU in one call.
static KEEP_FLAT_PARAMS: models::switch::Switch = models::switch::Switch::new("MSYM_KEEP_FLAT_PARAMS");

/// Whether steps keep the parameter row between updates.
pub fn keep_flat_params_on() -> bool {
    KEEP_FLAT_PARAMS.on()
}

/// Steps that started from the kept row so far in this process.
pub fn keep_flat_params_calls() -> usize {
    KEEP_FLAT_PARAMS.calls()
}

/// The host's wall time in each phase of the steps so far, without waiting for the device:
/// what it takes to build and enqueue the forward (and loss), the backward (and gradient
/// collection), and the optimizer's tail. On a GPU the host runs ahead of the device, so at
/// R = 1, where the device idles, these add up to about the step (`msym bench` prints them);
/// on the CPU backend they include the arithmetic.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HostClock {
    pub forward: std::time::Duration,
    pub backward: std::time::Duration,
    pub optimizer: std::time::Duration,
}

/// Everything a step changes.
pub struct StepState<B: AutodiffBackend> {
    /// Host time by phase, summed over this state's steps (reset it to start a count).
    pub host: HostClock,
    /// The master weights (the backend's float type), which the optimizer updates.
    pub model: Model<B>,
    /// The type the forward and backward passes compute in when narrower than the masters
    /// (bf16 under `train.precision = "bf16"`); None computes on the masters directly.
    pub compute: Option<DType>,
    pub opt: AdamW<B::InnerBackend>,
    pub guard: Guard<B::InnerBackend>,
    /// The trainable parameters laid end to end (crate::flat), in the guard's name order.
    pub layout: FlatLayout,
    /// layout.indicator(): sums a row per parameter.
    indicator: Tensor<B::InnerBackend, 3>,
    /// The trainable parameters as the last update left them, laid out by `layout`
    /// [R, layout.total], so that the next step need not lay the model's parameters end to
    /// end again (one copy kernel per parameter tensor: about 50 of a depth-4 step's
    /// kernels, which at R = 1 cost host time each). None until the first step and after
    /// [`StepState::model_changed`].
    flat_params: Option<Tensor<B::InnerBackend, 2>>,
    /// Sum of each replica's training loss since the last evaluation: [R, 1]
    pub loss_sum: Tensor<B::InnerBackend, 2>,
    pub loss_steps: usize,
}

impl<B: AutodiffBackend> StepState<B> {
    /// Fresh optimizer state and guard for `model` (R replicas) under `t`'s AdamW settings.
    pub fn new(model: Model<B>, t: &TrainConfig, compute: Option<DType>, device: &B::Device) -> Self {
        let params = models::read_params(&model);
        let r = params.values().next().map_or(0, |p| p.n_replicas);
        let layout = FlatLayout::aligned(
            params
                .into_iter()
                .filter(|(_, p)| p.trainable)
                .map(|(n, p)| (n, p.values.len() / p.n_replicas))
                .collect(),
            models::fused_adam::row_align::<B::InnerBackend>(r),
        );
        let hyper = AdamHyper {
            beta1: t.beta1,
            beta2: t.beta2,
            eps: t.eps,
            weight_decay: t.weight_decay,
        };
        Self {
            host: HostClock::default(),
            model,
            compute,
            opt: AdamW::new(hyper),
            guard: Guard::new(r, layout.names(), device),
            indicator: layout.indicator(device),
            layout,
            flat_params: None,
            loss_sum: Tensor::zeros([r, 1], device),
            loss_steps: 0,
        }
    }
}

impl<B: AutodiffBackend> StepState<B> {
    /// Call after changing `model`'s parameters other than through [`train_step`] (a
    /// checkpoint loaded into it): the next step then reads them from the model again.
    pub fn model_changed(&mut self) {
        self.flat_params = None;
    }

    /// Each replica's summed training loss since the last evaluation and the number of
    /// steps summed, for a checkpoint (read back to the host; the sums keep running).
    pub fn pending_losses(&self) -> (Vec<f64>, usize) {
        let sums = self
            .loss_sum
            .clone()
            .into_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .expect("float data");
        (sums, self.loss_steps)
    }

    /// Continues the loss sums of a checkpoint (`pending_losses` of the session that wrote
    /// it). Sums of another replica count (a checkpoint from before they were saved) leave
    /// the sums at 0: the next mean then covers this session's steps only, as before.
    pub fn restore_pending_losses(&mut self, sums: &[f64], steps: usize) {
        let [r, _] = self.loss_sum.dims();
        if sums.len() != r {
            return;
        }
        let device = self.loss_sum.device();
        // Converted to the backend's float type: exact for sums it wrote.
        self.loss_sum = Tensor::from_data(TensorData::new(sums.to_vec(), [r, 1]), &device);
        self.loss_steps = steps;
    }

    /// Each replica's mean training loss over the steps since the last call (NaN after no
    /// step), read back to the host, which waits for the device; the sums start again at 0.
    pub fn take_mean_losses(&mut self) -> Vec<f64> {
        let (sums, steps) = self.pending_losses();
        let steps = steps as f64;
        self.loss_sum = self.loss_sum.clone().zeros_like();
        self.loss_steps = 0;
        sums.into_iter()
            .map(|x| if steps == 0.0 { f64::NAN } else { x / steps })
            .collect()
    }
}

/// x / k, the weight of one of k micro-batches; x itself for one (x / 1 is x, and at R = 1
/// every launch costs host time: results/bench/NOTES.md, session 27).
fn weighted<B: Backend, const D: usize>(x: Tensor<B, D>, k: usize) -> Tensor<B, D> {
    match k {
        1 => x,
        k => x.div_scalar(k as f64),
    }
}

/// Runs step `step` on batch columns start..start+batch of `order`. `lrs[r]` is replica r's
/// learning rate for this step. Nothing is read back to the host.
pub fn train_step<B: AutodiffBackend>(
    s: &mut StepState<B>,
    data: &DeviceData<B>,
    order: &Tensor<B, 2, burn::tensor::Int>,
    start: usize,
    step: usize,
    lrs: &[f64],
    t: &TrainConfig,
) {
    let batch = t.batch_size.expect("resolved");
    let micro = batch / t.micro_batches;
    let r = lrs.len();
    let device = s.loss_sum.device();
    let mut grads = BTreeMap::new();
    let mut loss: Option<Tensor<B::InnerBackend, 2>> = None;
    for k in 0..t.micro_batches {
        let clock = std::time::Instant::now();
        let (tokens, labels) = data.batch(order, start + k * micro, micro);
        // The cast copy's gradients flow back to the masters through the casts. A fresh copy
        // per micro-batch: a backward pass consumes the graph, casts included, so a copy
        // reused by the next micro-batch would no longer reach the masters.
        let logits = match s.compute {
            Some(dtype) => cast_module(&s.model, dtype).forward(tokens),
            None => s.model.forward(tokens),
        };
        let logits = widen(logits); // [R, micro, V]: the loss in the master type
        let per_replica = cross_entropy(logits, labels); // [R]
        s.host.forward += clock.elapsed();
        let clock = std::time::Instant::now();
        // Each micro-batch's mean enters with weight 1/k, so the sum is the full-batch mean.
        let g = weighted(per_replica.clone().sum(), t.micro_batches).backward();
        accumulate(&mut grads, collect(&mut s.model, &g));
        let part = weighted(per_replica.inner().reshape([r, 1]), t.micro_batches);
        loss = Some(match loss {
            Some(sum) => sum.add(part),
            None => part,
        });
        s.host.backward += clock.elapsed();
    }
    let loss = loss.expect("at least one micro-batch (the config's check)");
    let clock = std::time::Instant::now();
    let lr = Tensor::<B::InnerBackend, 2>::from_data(TensorData::new(lrs.to_vec(), [r, 1]), &device);
    // Everything below works on one row per replica (crate::flat says why).
    let g = s.layout.cat(&grads, r, &device); // [R, P]
    let squared = s.layout.per_param_sums(g.clone().powi_scalar(2), s.indicator.clone()); // [R, K]
    let norm = squared.clone().sum_dim(1).sqrt(); // [R, 1]
    let active = s.guard.observe(step, loss.clone(), lr.clone(), norm.clone(), squared);
    // The model changes only here (and where model_changed says), so the row the last
    // update wrote is the model's parameters laid end to end, bit for bit.
    let p = match s.flat_params.take().filter(|_| KEEP_FLAT_PARAMS.on()) {
        Some(p) => {
            KEEP_FLAT_PARAMS.count();
            p
        }
        None => s.layout.cat(&values(&s.model), r, &device),
    };
    s.opt.begin_step();
    let clip = Clip {
        norm,
        max_norm: t.grad_clip,
    };
    let row = s.opt.update_flat(&s.layout, p, g, lr, active, clip);
    let new = s.layout.split(row.clone());
    apply(&mut s.model, &mut |name, _| new.get(name).cloned());
    s.flat_params = Some(row);
    s.loss_sum = s.loss_sum.clone().add(loss);
    s.loss_steps += 1;
    s.host.optimizer += clock.elapsed();
}
