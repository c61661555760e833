//! `msym verify {seeds, labels}`: reproducibility and label correctness, checked before a
//! result is trusted or published.

use std::collections::BTreeMap;
use std::time::Instant;

use anchor_data::Dataset;
use clap::{Args, Subcommand};
use msym_config::ExperimentConfig;
use trainer::first_steps::FirstSteps;

use crate::args::ConfigArgs;
use crate::backend::{self, DeviceArg};
use crate::data_cmd::dataset;
use crate::decode;
use crate::error::CliError;

#[derive(Subcommand)]
pub enum VerifyCommand {
    /// Same seed twice: same dataset digest, initial-weights digest and first step losses;
    /// a different seed: all different.
    Seeds(SeedsArgs),
    /// Regenerate every sample, recompute each label with the independent oracle, list the
    /// mismatches and print the first training batch decoded.
    Labels(LabelsArgs),
}

#[derive(Args)]
pub struct SeedsArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// How many training steps to replay per run.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// The seed that must give different results (default: the config's seed + 1).
    #[arg(long)]
    other_seed: Option<u64>,
    #[arg(long, default_value = "cpu")]
    device: DeviceArg,
}

#[derive(Args)]
pub struct LabelsArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// How many samples of the first training batch to print decoded (the batch itself
    /// is train.batch_size samples).
    #[arg(long, default_value_t = 32)]
    show: usize,
    /// At most this many mismatches are printed one by one (all are counted, by group).
    #[arg(long, default_value_t = 100)]
    max_listed: usize,
}

pub fn run(c: VerifyCommand) -> Result<(), CliError> {
    match c {
        VerifyCommand::Seeds(a) => seeds(a),
        VerifyCommand::Labels(a) => labels(a),
    }
}

/// On CUDA the two runs may round differently (autotuned kernels and the order of their
/// reductions are not fixed between runs), so losses only need to agree this closely.
const CUDA_REL_TOLERANCE: f64 = 1e-4;

fn replay(device: DeviceArg, cfg: &ExperimentConfig, n: usize) -> Result<FirstSteps, CliError> {
    use burn::backend::Autodiff;
    backend::require_available(device)?;
    let result = match device {
        DeviceArg::Cpu => backend::guarded(device, || {
            trainer::first_steps::first_steps::<Autodiff<backend::CpuBackend>>(cfg, n, &Default::default())
        })?,
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda(i) => backend::guarded(device, || {
            trainer::first_steps::first_steps::<Autodiff<backend::CudaBackend>>(
                cfg,
                n,
                &burn::backend::cuda::CudaDevice { index: i },
            )
        })?,
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda(_) => unreachable!("refused by require_available"),
    };
    result.map_err(CliError::input)
}

fn losses_line(l: &[f64]) -> String {
    l.iter().map(|x| format!("{x:.9}")).collect::<Vec<_>>().join(" ")
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn seeds(a: SeedsArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let cfg = a.config.load()?;
    if a.steps == 0 {
        return Err(CliError::input("--steps 0: replay at least one step"));
    }
    // Whether the file (or --set) fixes the data seed: then a different run seed keeps
    // the same dataset on purpose.
    let fixed_data = msym_config::load_unresolved(&a.config.path(), &a.config.set)?
        .data_seed
        .is_some();
    let other_seed = a.other_seed.unwrap_or(cfg.seed + 1);
    if other_seed == cfg.seed {
        return Err(CliError::input(format!(
            "--other-seed {other_seed} is the config's own seed; give a different one"
        )));
    }
    let mut other = cfg.clone();
    other.seed = other_seed;
    if !fixed_data {
        other.data_seed = Some(other_seed);
    }
    let digest = |c: &ExperimentConfig| -> Result<(String, f64), CliError> {
        let t = Instant::now();
        let ds = anchor_data::generate(&c.task, c.data_seed()).map_err(|e| CliError::input(e.to_string()))?;
        Ok((ds.digest(), t.elapsed().as_secs_f64()))
    };
    println!(
        "verify seeds: {} (seed {}, data seed {}) against seed {other_seed}, {} steps on {}",
        a.config.path().display(),
        cfg.seed,
        cfg.data_seed(),
        a.steps,
        a.device
    );
    let (d1, t1) = digest(&cfg)?;
    let (d2, _) = digest(&cfg)?;
    let (d3, _) = digest(&other)?;
    let timed = |c: &ExperimentConfig| -> Result<(FirstSteps, f64), CliError> {
        let t = Instant::now();
        let r = replay(a.device, c, a.steps)?;
        Ok((r, t.elapsed().as_secs_f64()))
    };
    let (run1, s1) = timed(&cfg)?;
    let (run2, s2) = timed(&cfg)?;
    let (run3, s3) = timed(&other)?;
    let mut ok = true;
    let mut line = |pass: bool, text: String| {
        ok &= pass;
        println!("{}  {text}", verdict(pass));
    };
    line(
        d1 == d2,
        format!("dataset digest, seed {} twice: {d1} / {d2} ({t1:.2} s each)", cfg.seed),
    );
    line(
        run1.weights_digest == run2.weights_digest,
        format!(
            "initial-weights digest, seed {} twice: {} / {}",
            cfg.seed, run1.weights_digest, run2.weights_digest
        ),
    );
    let exact = run1
        .losses
        .iter()
        .zip(&run2.losses)
        .all(|(x, y)| x.to_bits() == y.to_bits());
    let worst = run1
        .losses
        .iter()
        .zip(&run2.losses)
        .map(|(x, y)| (x - y).abs() / x.abs().max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max);
    let same_losses = match a.device {
        DeviceArg::Cpu => exact,
        DeviceArg::Cuda(_) => worst <= CUDA_REL_TOLERANCE,
    };
    let rule = match a.device {
        DeviceArg::Cpu => "bit for bit".to_string(),
        DeviceArg::Cuda(_) => format!(
            "within relative {CUDA_REL_TOLERANCE:e}: autotuned kernels and their reduction order may differ between runs"
        ),
    };
    line(
        same_losses,
        format!(
            "first {} step losses, seed {} twice, {rule} ({}; largest relative difference {worst:.1e}; {s1:.1} s and {s2:.1} s)",
            a.steps,
            cfg.seed,
            if exact { "identical bits" } else { "bits differ" }
        ),
    );
    println!("      run 1: {}", losses_line(&run1.losses));
    println!("      run 2: {}", losses_line(&run2.losses));
    if fixed_data {
        line(
            d3 == d1,
            format!("dataset digest, seed {other_seed}: {d3} (data_seed is fixed by the config, so it must stay)"),
        );
    } else {
        line(d3 != d1, format!("dataset digest, seed {other_seed} differs: {d3}"));
    }
    line(
        run3.weights_digest != run1.weights_digest,
        format!(
            "initial-weights digest, seed {other_seed} differs: {}",
            run3.weights_digest
        ),
    );
    line(
        run3.losses != run1.losses,
        format!("first {} step losses, seed {other_seed} differ ({s3:.1} s)", a.steps),
    );
    println!("      seed {other_seed}: {}", losses_line(&run3.losses));
    println!("verify seeds took {:.1} s", start.elapsed().as_secs_f64());
    if ok {
        Ok(())
    } else {
        Err(CliError::failed(
            "a seed check failed: the run is not reproducible as configured",
        ))
    }
}

/// What the oracle said about a whole dataset.
pub struct LabelReport {
    pub checked: usize,
    /// Indices of the samples whose stored label (or group, key, position) the oracle
    /// disagrees with.
    pub mismatches: Vec<usize>,
    pub by_group: BTreeMap<String, usize>,
}

/// Recomputes every sample's label with the oracle.
pub fn check_labels(ds: &Dataset) -> LabelReport {
    let mut mismatches = Vec::new();
    let mut by_group = BTreeMap::new();
    for s in ds.iter() {
        if !decode::check(ds, &s).agrees {
            mismatches.push(s.index);
            *by_group.entry(s.group.name()).or_insert(0) += 1;
        }
    }
    LabelReport {
        checked: ds.len(),
        mismatches,
        by_group,
    }
}

/// One sample on one line: index, group, tokens (key in parentheses, anchors in brackets),
/// stored label and the oracle's derivation.
fn one_line(ds: &Dataset, i: usize) -> String {
    let s = ds.sample(i);
    let c = decode::check(ds, &s);
    format!(
        "#{:<6} {:<9} {:<40} label {:>3}  {} [{}]",
        s.index,
        s.group.name(),
        decode::tokens_line(ds, &s),
        s.label,
        c.derivation,
        if c.agrees { "ok" } else { "MISMATCH" }
    )
}

fn labels(a: LabelsArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let (cfg, ds) = dataset(&a.config)?;
    let generated = start.elapsed().as_secs_f64();
    let report = check_labels(&ds);
    let checked_in = start.elapsed().as_secs_f64() - generated;
    println!(
        "verify labels: {} ({}, data seed {}, {})",
        a.config.path().display(),
        ds.task.name(),
        ds.seed,
        ds.digest()
    );
    println!(
        "{}  {} labels regenerated ({generated:.2} s) and recomputed by the oracle ({checked_in:.2} s): {} mismatches",
        verdict(report.mismatches.is_empty()),
        report.checked,
        report.mismatches.len()
    );
    for (g, n) in &report.by_group {
        println!(
            "      {g}: {n} mismatches of {}",
            ds.groups.iter().find(|x| &x.name() == g).map_or(0, |x| x.size)
        );
    }
    for &i in report.mismatches.iter().take(a.max_listed) {
        println!("      {}", one_line(&ds, i));
    }
    if report.mismatches.len() > a.max_listed {
        println!(
            "      ... {} more (--max-listed)",
            report.mismatches.len() - a.max_listed
        );
    }
    let batch = cfg.train.batch_size.expect("resolved");
    let rows = trainer::data::epoch_rows(&ds.training_indices(), cfg.seed, 0);
    let first: Vec<usize> = rows.into_iter().take(batch).collect();
    println!(
        "first training batch (epoch 0, seed {}): {} samples, showing {}; (key) [anchors]",
        cfg.seed,
        first.len(),
        a.show.min(first.len())
    );
    for &i in first.iter().take(a.show) {
        println!("  {}", one_line(&ds, i));
    }
    println!("verify labels took {:.2} s", start.elapsed().as_secs_f64());
    if report.mismatches.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "{} of {} labels disagree with the oracle",
            report.mismatches.len(),
            report.checked
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_data::{CompositeTask, TaskConfig, generate};

    fn small() -> Dataset {
        let task = TaskConfig::Composite(CompositeTask {
            n_samples: 4000,
            ..Default::default()
        });
        generate(&task, 3).unwrap()
    }

    #[test]
    fn generated_labels_all_agree_with_the_oracle() {
        let ds = small();
        let r = check_labels(&ds);
        assert_eq!((r.checked, r.mismatches.len()), (4000, 0));
    }

    /// A generator whose shift of pair 12 moved from +6 to +7 writes key + 7 for every
    /// sample of that pair: the oracle, reading the config's shift table, catches each one
    /// and names the pair's groups.
    #[test]
    fn a_changed_shift_in_the_generator_is_caught_sample_by_sample() {
        let mut ds = small();
        let pair12: Vec<usize> = (0..ds.len())
            .filter(|&i| ds.sample(i).group.pair == Some([1, 2]))
            .collect();
        assert!(!pair12.is_empty());
        for &i in &pair12 {
            ds.labels[i] += 1;
        }
        let r = check_labels(&ds);
        assert_eq!(r.mismatches, pair12);
        assert_eq!(
            r.by_group.keys().cloned().collect::<Vec<_>>(),
            vec!["12/test", "12/train"]
        );
        assert_eq!(r.by_group.values().sum::<usize>(), pair12.len());
    }
}
