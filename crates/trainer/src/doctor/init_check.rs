//! Initialization: every weight drawn with the gamma rule (SPEC 2.3) has, measured, the
//! std d1^-gamma of the configured rule. A tensor more than 10% off is flagged (more than
//! three standard errors of the sample std, 3 / sqrt(2n), for tensors too small for 10%).

use std::collections::BTreeMap;

use models::NamedTensor;
use models::init::{d1, init_std as expected_std};
use msym_config::{ConvKind, ExperimentConfig, InitRule, ModelConfig};

use super::{Check, Status};

/// Whether `name` is drawn from N(0, (d1^-gamma)^2): the weight matrices, embeddings,
/// head and learned convolution, not the norms (ones), nor a frozen all-ones kernel, nor
/// biases, A_log, dt_bias or D (their own defaults). The same set `tests/init_std.rs`
/// checks.
pub fn is_gamma_weight(name: &str, cfg: &ExperimentConfig) -> bool {
    let all_ones = matches!(&cfg.model, ModelConfig::Mamba2(m) if m.conv == ConvKind::AllOnesFrozen);
    name.ends_with(".weight") && !name.contains("norm") && !(all_ones && name.ends_with("conv1d.weight"))
}

fn std_of(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

/// Compares replica 0 of every gamma-drawn tensor of `params` with `cfg`'s rule.
pub fn init_std(params: &BTreeMap<String, NamedTensor>, cfg: &ExperimentConfig) -> Check {
    let rule = cfg.init.rule.unwrap_or(InitRule::FirstDim);
    let gamma = cfg.init.gamma;
    let mut details = Vec::new();
    let mut off = Vec::new();
    let mut underflow = false;
    for (name, p) in params.iter().filter(|(n, _)| is_gamma_weight(n, cfg)) {
        let values = p.replica(0);
        let measured = std_of(values);
        let expected = expected_std(&p.torch_shape, rule, gamma);
        let ratio = measured / expected;
        let tolerance = 0.10f64.max(3.0 / (2.0 * values.len() as f64).sqrt());
        let bad = !ratio.is_finite() || (ratio - 1.0).abs() > tolerance;
        details.push(format!(
            "{} {name} {:?}: std {measured:.4e}, expected {expected:.4e} = {}^-{gamma} ({:+.1}%)",
            if bad { "OFF" } else { "ok " },
            p.torch_shape,
            d1(&p.torch_shape, rule),
            100.0 * (ratio - 1.0)
        ));
        if bad {
            off.push(name.clone());
            underflow |= expected < f64::from(f32::MIN_POSITIVE);
        }
    }
    let rule_name = match rule {
        InitRule::FirstDim => "first_dim",
        InitRule::FanIn => "fan_in",
    };
    let n = details.len();
    if n == 0 {
        return Check::new(
            "initialization",
            Status::Fail,
            "no gamma-initialized weight found in the model",
        )
        .hint("the model has no weight that init.rule applies to; check that it is built with Initializer::weight");
    }
    if off.is_empty() {
        Check::new(
            "initialization",
            Status::Pass,
            format!("{n} weights within 10% of d1^-gamma (rule {rule_name}, gamma {gamma})"),
        )
        .details(details)
    } else {
        Check::new(
            "initialization",
            Status::Fail,
            format!(
                "{} of {n} weights more than 10% off d1^-gamma (rule {rule_name}, gamma {gamma}): {}",
                off.len(),
                off.join(", ")
            ),
        )
        .details(details)
        .hint(if underflow {
            "d1^-gamma is below the smallest f32, so the weights round to zero: use a gamma in the paper's range (0.1 to 2.0)".to_string()
        } else {
            "the weights were not drawn with d1^-gamma: build every weight through Initializer::weight with init.rule, and do not overwrite it afterwards (a checkpoint or export loaded over it)".to_string()
        })
    }
}
