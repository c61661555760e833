//! Values that parse but are not allowed. One check per rule, each naming the field.

use std::path::Path;

use crate::error::ConfigError;
use crate::schema::{ExperimentConfig, FIGURES, ModelConfig};

/// Checks a resolved config; the first violated rule is returned.
pub fn validate(cfg: &ExperimentConfig, path: &Path) -> Result<(), ConfigError> {
    let invalid = |field: &str, value: String, message: &str| ConfigError::Invalid {
        path: path.to_path_buf(),
        field: field.to_string(),
        value,
        message: message.to_string(),
    };
    let positive = |field: &str, v: usize| {
        if v == 0 {
            Err(invalid(field, "0".into(), "must be at least 1"))
        } else {
            Ok(())
        }
    };
    let positive_f = |field: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(invalid(field, v.to_string(), "must be a finite number > 0"))
        }
    };

    anchor_data::validate(&cfg.task).map_err(|source| ConfigError::Task {
        path: path.to_path_buf(),
        source,
    })?;

    if let Some(f) = cfg.figure.as_deref().filter(|f| !FIGURES.contains(f)) {
        return Err(invalid(
            "figure",
            format!("\"{f}\""),
            &format!("must be one of the figure ids {} (SPEC section 4)", FIGURES.join(", ")),
        ));
    }
    let g = cfg.init.gamma;
    if !(g.is_finite() && g > 0.0) {
        return Err(invalid(
            "init.gamma",
            g.to_string(),
            "must be > 0 (weights are drawn with std d1^-gamma; the paper sweeps 0.1 to 2.0)",
        ));
    }
    match &cfg.model {
        ModelConfig::Mamba2(m) => {
            if m.depth == 0 {
                return Err(invalid(
                    "model.depth",
                    "0".into(),
                    "a model needs at least 1 block (the paper uses 2 to 7)",
                ));
            }
            positive("model.d_model", m.d_model)?;
            positive("model.d_state", m.d_state)?;
            positive("model.expand", m.expand)?;
            positive("model.d_conv", m.d_conv)?;
            if m.residual_around_conv && m.gated_residual {
                return Err(invalid(
                    "model.gated_residual",
                    "true".into(),
                    "cannot be combined with model.residual_around_conv = true; the two define the SSM input differently, choose one",
                ));
            }
        }
        ModelConfig::Transformer(t) => {
            if t.depth == 0 {
                return Err(invalid(
                    "model.depth",
                    "0".into(),
                    "a model needs at least 1 block (the paper uses 2 to 7)",
                ));
            }
            positive("model.d_model", t.d_model)?;
            positive("model.d_k", t.d_k)?;
            positive("model.d_v", t.d_v)?;
            positive("model.d_ff", t.d_ff)?;
            positive("model.d_conv", t.d_conv)?;
        }
    }

    let t = &cfg.train;
    positive("train.epochs", t.epochs)?;
    let batch = t.batch_size.expect("resolved");
    positive("train.batch_size", batch)?;
    positive("train.micro_batches", t.micro_batches)?;
    if !batch.is_multiple_of(t.micro_batches) {
        return Err(invalid(
            "train.micro_batches",
            t.micro_batches.to_string(),
            &format!("must divide train.batch_size = {batch} so that every micro-batch has the same size"),
        ));
    }
    positive_f("train.lr_start", t.lr_start)?;
    positive_f("train.lr_peak", t.lr_peak)?;
    positive_f("train.lr_end", t.lr_end)?;
    positive_f("train.eps", t.eps)?;
    for (field, v) in [("train.beta1", t.beta1), ("train.beta2", t.beta2)] {
        if !(0.0..1.0).contains(&v) {
            return Err(invalid(field, v.to_string(), "must lie in [0, 1)"));
        }
    }
    for (field, v) in [("train.weight_decay", t.weight_decay), ("train.grad_clip", t.grad_clip)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(invalid(
                field,
                v.to_string(),
                "must be a finite number >= 0 (0 turns it off)",
            ));
        }
    }
    positive("eval.every_epochs", cfg.eval.every_epochs)?;
    Ok(())
}
