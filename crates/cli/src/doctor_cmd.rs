//! `msym doctor CONFIG`: the debugging checklist of a config as one report, each check
//! PASS / WARN / FAIL with its numbers and a hint; exit 1 when any check fails, so a
//! sweep can be gated on it. The checks live in `trainer::doctor`.

use std::time::Instant;

use clap::Args;
use msym_config::{ConfigError, ExperimentConfig};
use trainer::doctor::{self, Budgets, Check, MemoryProbe, Status};

use crate::args::ConfigArgs;
use crate::backend::{self, DeviceArg};
use crate::error::CliError;

#[derive(Args)]
pub struct DoctorCommand {
    #[command(flatten)]
    config: ConfigArgs,
    #[arg(long, default_value = "cpu")]
    device: DeviceArg,
    /// Batch of the profile and the NaN hunt (default: train.batch_size).
    #[arg(long)]
    batch: Option<usize>,
    /// Batch of the shapes and gradient-flow checks.
    #[arg(long, default_value_t = 256)]
    probe_batch: usize,
    /// Steps the overfit test may take to fit 10 samples.
    #[arg(long, default_value_t = 300)]
    overfit_steps: usize,
    /// Steps of the NaN hunt at the peak learning rate.
    #[arg(long, default_value_t = 20)]
    nan_steps: usize,
    /// Timed steps of the profile.
    #[arg(long, default_value_t = 3)]
    profile_steps: usize,
}

/// Samples of the overfit test (the "10 samples").
const OVERFIT_SAMPLES: usize = 10;

fn hint_for_config(e: &ConfigError) -> &'static str {
    match e {
        ConfigError::Task { .. } => {
            "the task cannot be generated as written (a label or token outside task.vocab_size, a missing shift, an empty group); fix the named field"
        }
        _ => "fix the named field; msym config CONFIG prints every value the run would use",
    }
}

pub fn run(c: DoctorCommand) -> Result<(), CliError> {
    let start = Instant::now();
    let path = c.config.path();
    println!("msym doctor: {} on {}", path.display(), c.device);
    // A config that parses but is not allowed is the first thing doctor diagnoses: a FAIL
    // line, not a usage error. A file that cannot be read or parsed stays a usage error.
    let cfg = match msym_config::load(&path, &c.config.set) {
        Ok(cfg) => cfg,
        Err(e @ (ConfigError::Invalid { .. } | ConfigError::Task { .. })) => {
            let check = Check::new("config", Status::Fail, e.to_string()).hint(hint_for_config(&e));
            println!("{check}");
            println!("SKIP  every other check: nothing can be built from this config");
            return Err(CliError::failed("doctor: 1 check failed (config)"));
        }
        Err(e) => return Err(e.into()),
    };
    let batch = c.batch.unwrap_or_else(|| cfg.train.batch_size.expect("resolved"));
    for (flag, v) in [
        ("--batch", batch),
        ("--probe-batch", c.probe_batch),
        ("--nan-steps", c.nan_steps),
        ("--profile-steps", c.profile_steps),
    ] {
        if v == 0 {
            return Err(CliError::input(format!("{flag} 0: give at least 1")));
        }
    }
    for line in cfg.task.assumptions() {
        println!("note: {line}");
    }
    let ds = anchor_data::generate(&cfg.task, cfg.data_seed()).map_err(|e| CliError::input(e.to_string()))?;
    println!(
        "PASS  config         {} ({}, {} depth {}, gamma {}, lr_peak {:.2e}, seed {}); dataset {} samples, {}",
        cfg.description,
        ds.task.name(),
        cfg.model.name(),
        cfg.model.depth(),
        cfg.init.gamma,
        cfg.train.lr_peak,
        cfg.seed,
        ds.len(),
        ds.digest()
    );
    let budgets = Budgets {
        batch,
        probe_batch: c.probe_batch,
        overfit_samples: OVERFIT_SAMPLES,
        overfit_steps: c.overfit_steps,
        nan_steps: c.nan_steps,
        profile_steps: c.profile_steps,
    };
    let mut checks = vec![matmul_check(c.device)];
    println!("{}", checks[0]);
    checks.extend(checks_on(c.device, &cfg, &ds, &budgets)?);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|k| k.status == Status::Fail)
        .map(|k| k.name)
        .collect();
    let warned = checks.iter().filter(|k| k.status == Status::Warn).count();
    println!(
        "doctor: {} checks, {} failed, {warned} warned ({:.1} s)",
        checks.len() + 1,
        failed.len(),
        start.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "doctor: {} check{} failed ({})",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", ")
        )))
    }
}

/// What an f32 product is computed in on `device` ([`backend::matmul_f32`]): PASS for f32,
/// WARN for TF32 or bf16 inputs (cubek rounds f32 inputs to TF32 on tensor cores: measured
/// on an H200 in session 15), FAIL where the probe itself fails. A run that disagrees with a
/// PyTorch run, which keeps TF32 off by default, may differ by this alone.
fn matmul_check(device: DeviceArg) -> Check {
    let v = backend::matmul_f32(device);
    let summary = match backend::probe_sentences(&v) {
        Ok(lines) => lines.join("; "),
        Err(e) => {
            return Check::new("matmul", Status::Fail, format!("the f32 matmul probe failed: {e}"))
                .hint("msym info --device D runs the same probe alone");
        }
    };
    let probes = v.as_array().cloned().unwrap_or_default();
    if !probes.is_empty() && probes.iter().all(|p| p["computes_like"] == "f32") {
        Check::new("matmul", Status::Pass, summary)
    } else {
        Check::new("matmul", Status::Warn, summary).hint(
            "this device multiplies f32 tensors with rounded inputs on its tensor cores; MSYM_F32_MATMUL=1 sends every \
             matmul to an f32 kernel instead (slower), and PyTorch keeps TF32 off by default, so compare like with like \
             (scripts/torch_reference.py --tf32, or a run on the CPU, which multiplies in f32)",
        )
    }
}

/// Runs the checks on the backend of `device`, printing each as it finishes.
fn checks_on(
    device: DeviceArg,
    cfg: &ExperimentConfig,
    ds: &anchor_data::Dataset,
    budgets: &Budgets,
) -> Result<Vec<Check>, CliError> {
    use burn::backend::Autodiff;
    backend::require_available(device)?;
    let mut print = |k: &Check| println!("{k}");
    match device {
        DeviceArg::Cpu => backend::guarded(device, || {
            doctor::run::<Autodiff<backend::CpuBackend>>(
                cfg,
                ds,
                budgets,
                &MemoryProbe::Resident,
                &Default::default(),
                &mut print,
            )
        }),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda(i) => backend::guarded(device, || {
            let why = "burn 0.21 exposes no device-memory counter through its Backend trait (cubecl's ComputeClient::memory_usage is not re-exported by burn-cuda)";
            doctor::run::<Autodiff<backend::CudaBackend>>(
                cfg,
                ds,
                budgets,
                &MemoryProbe::Unavailable(why.into()),
                &burn::backend::cuda::CudaDevice { index: i },
                &mut print,
            )
        }),
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda(_) => unreachable!("refused by require_available"),
    }
}
