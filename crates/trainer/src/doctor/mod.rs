//! `msym doctor`: the debugging checklist of a training run as checks that pass, warn or
//! fail with their numbers and a hint. Each check is a function of a model, a dataset and
//! a config, so tests can hand it a deliberately broken model.
//!
//! Run order (also the report's order): shapes, initialization, gradient flow, overfit,
//! profile, NaN hunt. The profile runs before the NaN hunt because it reads the process's
//! peak memory, which a full-batch NaN hunt would already have raised.

mod batch;
mod grad_flow;
mod init_check;
pub mod memory;
mod nan_hunt;
mod overfit;
mod profile;
mod shapes;

use anchor_data::Dataset;
use burn::tensor::backend::AutodiffBackend;
use models::{ReplicaInit, build_model};
use msym_config::ExperimentConfig;

pub use batch::first_rows;
pub use grad_flow::grad_flow;
pub use init_check::{init_std, is_gamma_weight};
pub use memory::MemoryProbe;
pub use nan_hunt::nan_hunt;
pub use overfit::overfit;
pub use profile::profile;
pub use shapes::shapes;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not run, because an earlier failure makes it meaningless (or impossible).
    Skip,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        })
    }
}

/// One line of the report, with the numbers behind it and what to do on a failure.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub hint: Option<String>,
}

impl Check {
    pub fn new(name: &'static str, status: Status, summary: impl Into<String>) -> Self {
        Self {
            name,
            status,
            summary: summary.into(),
            details: Vec::new(),
            hint: None,
        }
    }

    pub fn details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  {:<14} {}", self.status, self.name, self.summary)?;
        for d in &self.details {
            write!(f, "\n      {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n      hint: {h}")?;
        }
        Ok(())
    }
}

/// How much work each check may do (the defaults suit a GPU; a CPU wants smaller ones).
#[derive(Debug, Clone)]
pub struct Budgets {
    /// Batch of the profile and the NaN hunt (the config's batch unless told otherwise).
    pub batch: usize,
    /// Batch of the shapes and gradient-flow checks (one forward / backward each).
    pub probe_batch: usize,
    pub overfit_samples: usize,
    pub overfit_steps: usize,
    pub nan_steps: usize,
    pub profile_steps: usize,
}

/// Runs every check on the model and dataset of `cfg` (R = 1, the config's seed and
/// gamma), handing each result to `on` as soon as it is known.
pub fn run<B: AutodiffBackend>(
    cfg: &ExperimentConfig,
    ds: &Dataset,
    budgets: &Budgets,
    memory: &MemoryProbe,
    device: &B::Device,
    on: &mut dyn FnMut(&Check),
) -> Vec<Check> {
    let init = [ReplicaInit {
        seed: cfg.seed,
        gamma: cfg.init.gamma,
    }];
    let fresh = || build_model::<B>(cfg, &init, device);
    let mut out = Vec::new();
    let mut push = |c: Check, out: &mut Vec<Check>| {
        on(&c);
        out.push(c);
    };
    let model = fresh();
    let vocab = cfg.task.vocab_size() as usize;
    let shape_check = shapes(&model, ds, vocab, budgets.probe_batch, device);
    let shapes_ok = shape_check.status != Status::Fail;
    push(shape_check, &mut out);
    push(init_std(&models::read_params(&model), cfg), &mut out);
    if !shapes_ok {
        // Tokens or labels outside the vocabulary would index past the embedding or the
        // logits: nothing that trains can run.
        for name in ["gradient flow", "overfit", "profile", "NaN hunt"] {
            push(
                Check::new(name, Status::Skip, "skipped: the shapes check failed"),
                &mut out,
            );
        }
        return out;
    }
    push(grad_flow(&model, ds, cfg, budgets.probe_batch, device), &mut out);
    push(
        overfit(fresh(), ds, cfg, budgets.overfit_samples, budgets.overfit_steps, device),
        &mut out,
    );
    push(
        profile(&fresh(), ds, budgets.batch, budgets.profile_steps, memory, device),
        &mut out,
    );
    push(
        nan_hunt(fresh(), ds, cfg, budgets.batch, budgets.nan_steps, device),
        &mut out,
    );
    out
}
