//! NaN hunt: train at the config's peak learning rate (the largest the schedule reaches,
//! held from the first step) until a loss, gradient or weight stops being finite, then
//! replay that step's batch on the weights from just before it, layer by layer, and name
//! the first tensor that holds a non-finite value: the weights, a layer's post-conv
//! states, its token-mixing matrix, its mixer output, its residual stream, the logits,
//! the loss, or (all of those finite) the first gradient of the backward pass.

use anchor_data::Dataset;
use burn::module::Param;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor};
use models::{Model, ParamVisitor, Probes, VisitParams, read_grads, read_params};
use msym_config::ExperimentConfig;

use super::batch::host;
use super::{Check, Status};
use crate::data::DeviceData;
use crate::loss::cross_entropy;
use crate::step::{StepState, train_step};

/// Parameter names in the order the forward pass uses them.
struct ForwardOrder(Vec<String>);

impl<B: Backend> ParamVisitor<B> for ForwardOrder {
    fn visit<const D: usize>(&mut self, name: &str, _shape: &[usize], _param: &mut Param<Tensor<B, D>>) {
        self.0.push(name.to_string());
    }
}

fn non_finite<B: Backend, const D: usize>(t: Tensor<B, D>) -> (usize, usize) {
    let v = host(t);
    (v.iter().filter(|x| !x.is_finite()).count(), v.len())
}

/// The first non-finite weight, by name, if any.
fn bad_weight<B: Backend, M: VisitParams<B> + Clone>(model: &M) -> Option<String> {
    read_params(model).into_iter().find_map(|(name, p)| {
        let bad = p.values.iter().filter(|x| !x.is_finite()).count();
        (bad > 0).then(|| format!("the weights of {name} ({bad} of {} entries)", p.values.len()))
    })
}

/// The largest |weight| of the model and its tensor: what a runaway learning rate grows.
fn largest_weight<B: Backend, M: VisitParams<B> + Clone>(model: &M) -> (f64, String) {
    read_params(model)
        .into_iter()
        .map(|(name, p)| (p.values.iter().fold(0.0f64, |m, x| m.max(x.abs())), name))
        .fold(
            (0.0, String::new()),
            |a, b| if b.0 > a.0 || b.0.is_nan() { b } else { a },
        )
}

/// Replays one batch on `model` and names where the first non-finite value appears.
fn locate<B: AutodiffBackend>(model: &Model<B>, tokens: Tensor<B, 3, Int>, labels: Tensor<B, 2, Int>) -> String {
    if let Some(w) = bad_weight(model) {
        return w;
    }
    let mixing = match model {
        Model::Mamba2(_) => "the SSM matrix S",
        Model::Transformer(_) => "the attention probabilities",
    };
    let (logits, records) = model.forward_probed(tokens, &Probes::record()); // [1, b, V]
    for (i, rec) in records.into_iter().enumerate() {
        let tensors = [
            ("post-conv states (x, B, C)", rec.post_conv),
            (mixing, rec.mixing),
            ("the mixer output", Some(rec.mixer_out)),
            ("the residual stream (layer output)", Some(rec.hidden)),
        ];
        for (what, t) in tensors {
            if let Some((bad, n)) = t.map(non_finite).filter(|(bad, _)| *bad > 0) {
                return format!("layer {i} (backbone.layers.{i}): {what}, {bad} of {n} entries");
            }
        }
    }
    let (bad, n) = non_finite(logits.clone());
    if bad > 0 {
        return format!("the logits (final norm and head), {bad} of {n} entries");
    }
    let loss = cross_entropy(logits, labels).sum();
    if non_finite(loss.clone()).0 > 0 {
        return "the loss (cross-entropy of finite logits)".into();
    }
    let grads = read_grads(model, &loss.backward());
    let mut order = ForwardOrder(Vec::new());
    model.clone().visit_params("", &mut order);
    // The backward pass runs from the loss to the embedding: the last parameter of the
    // forward order with a non-finite gradient is the first one the backward pass reached.
    for name in order.0.iter().rev() {
        if let Some(Some(g)) = grads.get(name) {
            let bad = g.iter().filter(|x| !x.is_finite()).count();
            if bad > 0 {
                return format!(
                    "the gradient of {name}, {bad} of {} entries (the forward pass is finite)",
                    g.len()
                );
            }
        }
    }
    "nowhere when the batch is replayed alone: the gradients are finite, so the global norm or the update overflowed"
        .into()
}

/// Up to `steps` steps at batch `batch` on the training rows of `ds`.
pub fn nan_hunt<B: AutodiffBackend>(
    model: Model<B>,
    ds: &Dataset,
    cfg: &ExperimentConfig,
    batch: usize,
    steps: usize,
    device: &B::Device,
) -> Check {
    let data = DeviceData::<B>::new(std::slice::from_ref(ds), &[cfg.seed], device);
    let mut t = cfg.train.clone();
    let batch = batch.min(data.train_rows[0].len());
    t.batch_size = Some(batch);
    if !batch.is_multiple_of(t.micro_batches) {
        t.micro_batches = 1;
    }
    let spe = data.steps_per_epoch(batch);
    let lr = t.lr_peak;
    let mut s = StepState::new(model, &t, None, device);
    let mut order = data.epoch_order(0);
    let mut losses = Vec::new();
    for step in 0..steps {
        let (epoch, k) = (step / spe, step % spe);
        if k == 0 && epoch > 0 {
            order = data.epoch_order(epoch);
        }
        let before = s.model.clone();
        train_step(&mut s, &data, &order, k * batch, step, &[lr], &t);
        let loss = s.take_mean_losses()[0];
        losses.push(loss);
        let diverged = s.guard.report()[0].clone();
        let weights_broke = bad_weight(&s.model);
        if diverged.is_none() && weights_broke.is_none() {
            continue;
        }
        let (tokens, labels) = data.batch(&order, k * batch, batch);
        let (big, big_name) = largest_weight(&before);
        let site = match &weights_broke {
            Some(w) if diverged.is_none() => format!("{w}, after the update of step {step}"),
            _ => locate(&before, tokens, labels),
        };
        let mut details = vec![format!("largest |weight| before that step: {big:.3e} in {big_name}")];
        if let Some(d) = diverged {
            details.push(format!("guard: {d}"));
        }
        let shown: Vec<String> = losses.iter().map(|l| format!("{l:.4}")).collect();
        details.push(format!("losses: {}", shown.join(", ")));
        return Check::new(
            "NaN hunt",
            Status::Fail,
            format!("first non-finite value at step {step} (lr {lr:.2e}, batch {batch}): {site}"),
        )
        .details(details)
        .hint("lower train.lr_peak (try 10x smaller), keep train.grad_clip at 1.0, accumulate over train.micro_batches for a larger effective batch, and prefer precision = \"f32\" over bf16 while debugging");
    }
    let (lo, hi) = losses.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &l| {
        (lo.min(l), hi.max(l))
    });
    Check::new(
        "NaN hunt",
        Status::Pass,
        format!(
            "{steps} steps at the peak lr {lr:.2e}, batch {batch}: every loss, gradient and weight finite (loss {lo:.4}..{hi:.4})"
        ),
    )
}
