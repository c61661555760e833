//! Gradient flow: one backward pass from the initial weights, and every parameter the
//! config trains must get a finite, non-zero gradient. A parameter that gets none is
//! frozen (requires no gradient) or not on the loss's path; an all-zero one is dead.

use std::collections::BTreeMap;

use anchor_data::Dataset;
use burn::tensor::backend::AutodiffBackend;
use models::{Model, read_grads, read_params};
use msym_config::{ConvKind, ExperimentConfig, ModelConfig};

use super::batch::first_rows;
use super::{Check, Status};
use crate::loss::cross_entropy;

/// Parameters the config freezes on purpose: the all-ones kernel of Fig. 5b.
fn frozen_by_config(name: &str, cfg: &ExperimentConfig) -> bool {
    matches!(&cfg.model, ModelConfig::Mamba2(m) if m.conv == ConvKind::AllOnesFrozen) && name.ends_with("conv1d.weight")
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Gradients of the mean loss over the first `batch` training rows.
pub fn grad_flow<B: AutodiffBackend>(
    model: &Model<B>,
    ds: &Dataset,
    cfg: &ExperimentConfig,
    batch: usize,
    device: &B::Device,
) -> Check {
    let (tokens, labels) = first_rows::<B>(ds, batch, device);
    let loss = cross_entropy(model.forward(tokens), labels).sum(); // [1]
    let grads = loss.backward();
    let grads: BTreeMap<String, Option<Vec<f64>>> = read_grads(model, &grads);
    let params = read_params(model);
    let mut problems = Vec::new();
    let mut smallest: Option<(f64, String)> = None;
    let (mut trained, mut intended_frozen) = (0, 0);
    for (name, p) in &params {
        if frozen_by_config(name, cfg) && !p.trainable {
            intended_frozen += 1;
            continue;
        }
        trained += 1;
        match grads.get(name).and_then(|g| g.as_ref()) {
            None if !p.trainable => problems.push(format!(
                "{name}: frozen (requires no gradient), though the config trains it"
            )),
            None => problems.push(format!("{name}: no gradient (not on the loss's path)")),
            Some(g) if g.iter().any(|x| !x.is_finite()) => {
                let bad = g.iter().filter(|x| !x.is_finite()).count();
                problems.push(format!("{name}: {bad} of {} gradient entries are not finite", g.len()));
            }
            Some(g) if g.iter().all(|&x| x == 0.0) => problems.push(format!("{name}: gradient is exactly zero (dead)")),
            Some(g) => {
                let n = norm(g);
                if smallest.as_ref().is_none_or(|(s, _)| n < *s) {
                    smallest = Some((n, name.clone()));
                }
            }
        }
    }
    let frozen_note = if intended_frozen > 0 {
        format!(" ({intended_frozen} frozen by model.conv = \"all_ones_frozen\", as configured)")
    } else {
        String::new()
    };
    if problems.is_empty() {
        let (n, name) = smallest.unwrap_or((f64::NAN, "-".into()));
        Check::new(
            "gradient flow",
            Status::Pass,
            format!(
                "{trained} of {trained} trained tensors have a finite, non-zero gradient{frozen_note}; smallest norm {n:.3e} ({name})"
            ),
        )
    } else {
        Check::new(
            "gradient flow",
            Status::Fail,
            format!("{} of {trained} trained tensors have no usable gradient{frozen_note}", problems.len()),
        )
        .details(problems)
        .hint("a frozen or dead tensor never learns: make it require a gradient and use it in the forward pass; zero gradients everywhere mean zero weights (init.gamma too large); non-finite ones: see the NaN hunt")
    }
}
