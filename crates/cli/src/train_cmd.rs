//! `msym train CONFIG [--set k=v]... [--seeds 1,2,3] [--gammas ..] [--lrs ..] [--device D]
//! [--out DIR] [--resume | --force]`: one run; the cross product of --seeds, --gammas and
//! --lrs trains as replicas side by side.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use msym_config::ExperimentConfig;
use serde_json::json;
use trainer::{DirMode, Event, Outcome, RunOptions};

use crate::args::ConfigArgs;
use crate::backend::{self, DeviceArg};
use crate::error::CliError;
use crate::manifest;

#[derive(Args)]
pub struct TrainCommand {
    #[command(flatten)]
    config: ConfigArgs,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: DeviceArg,
    /// Run directory (default: runs/<config name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the unfinished run in --out from its last checkpoint.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Replace whatever --out holds.
    #[arg(long)]
    force: bool,
    /// Replica seeds, e.g. 1,2,3 (default: the config's seed).
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Replica gammas (default: init.gamma).
    #[arg(long, value_delimiter = ',')]
    gammas: Vec<f64>,
    /// Replica peak learning rates (default: train.lr_peak).
    #[arg(long, value_delimiter = ',')]
    lrs: Vec<f64>,
    /// Checkpoint every N epochs.
    #[arg(long, default_value_t = 1)]
    checkpoint_every: usize,
    /// Stop cleanly (checkpointed, resumable) before this many minutes have passed.
    #[arg(long, value_name = "MINUTES")]
    time_limit: Option<f64>,
    /// Samples scored per trained group at each evaluation.
    #[arg(long, default_value_t = 2048)]
    eval_train_cap: usize,
    /// Also keep the checkpoints of these epochs, e.g. 60,210: each in the run's
    /// snapshots/epoch-NNN/, which `msym analyze` reads (a run otherwise keeps only its
    /// latest checkpoint).
    #[arg(long, value_name = "EPOCHS", value_delimiter = ',')]
    snapshots: Vec<usize>,
}

impl TrainCommand {
    /// --out, or runs/<config file stem>.
    fn out_dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(self.config.stem()))
    }
}

/// One resolved config per replica: the cross product of seeds x gammas x lrs.
fn cells(c: &TrainCommand) -> Result<Vec<ExperimentConfig>, CliError> {
    let base = c.config.load()?;
    let seeds = if c.seeds.is_empty() {
        vec![base.seed]
    } else {
        c.seeds.clone()
    };
    let gammas = if c.gammas.is_empty() {
        vec![base.init.gamma]
    } else {
        c.gammas.clone()
    };
    let lrs = if c.lrs.is_empty() {
        vec![base.train.lr_peak]
    } else {
        c.lrs.clone()
    };
    let mut out = Vec::new();
    for &seed in &seeds {
        for &gamma in &gammas {
            for &lr in &lrs {
                let mut sets = c.config.set.clone();
                // Without an explicit data_seed, resolution gives each replica the data of its seed.
                sets.push(format!("seed={seed}"));
                sets.push(format!("init.gamma={gamma:?}"));
                sets.push(format!("train.lr_peak={lr:?}"));
                out.push(msym_config::load(&c.config.path(), &sets)?);
            }
        }
    }
    Ok(out)
}

pub fn run(c: TrainCommand) -> Result<(), CliError> {
    backend::require_available(c.device)?;
    let cells = cells(&c)?;
    let base = c.config.load()?;
    if base.sweep.is_some() {
        eprintln!(
            "note: this config has a [sweep] grid; msym train trains its base settings only (msym sweep runs the grid)"
        );
    }
    let out = c.out_dir();
    let mode = match (c.resume, c.force) {
        (true, _) => DirMode::Resume,
        (_, true) => DirMode::Force,
        _ => DirMode::New,
    };
    let opts = RunOptions {
        out: out.clone(),
        mode,
        checkpoint_every: c.checkpoint_every.max(1),
        time_limit: c.time_limit.map(|m| Duration::from_secs_f64(m * 60.0)),
        eval_train_cap: c.eval_train_cap,
        snapshot_epochs: c.snapshots.clone(),
        ..RunOptions::default()
    };
    let started = Instant::now();
    let outcome = go(c.device, &cells, &opts)?.map_err(CliError::input)?;
    write_records(&c, &base, &cells, &outcome, started.elapsed().as_secs_f64())?;
    print_summary(&outcome, &out);
    Ok(())
}

/// Trains with a progress bar (or log lines when stderr is not a terminal).
fn go(device: DeviceArg, cells: &[ExperimentConfig], opts: &RunOptions) -> Result<Result<Outcome, String>, CliError> {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] step {pos}/{len} ({per_sec}, ETA {eta}) {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let interactive = !bar.is_hidden();
    let say = |line: String| {
        if interactive {
            bar.println(line)
        } else {
            eprintln!("{line}")
        }
    };
    let result = backend::train_on(device, cells, opts, &mut |e| match e {
        Event::Start {
            epochs,
            steps_per_epoch,
            replicas,
            resumed_at,
        } => {
            bar.set_length((epochs * steps_per_epoch) as u64);
            bar.set_position((resumed_at * steps_per_epoch) as u64);
            say(format!(
                "training {replicas} replica(s), {epochs} epochs x {steps_per_epoch} steps{}",
                if resumed_at > 0 {
                    format!(", resuming after epoch {resumed_at}")
                } else {
                    String::new()
                }
            ));
        }
        Event::Step { step } => bar.set_position(step as u64),
        Event::Eval { epoch, rows } => {
            for r in rows {
                let get = |k: &str| r.scores.get(k).map_or("-".into(), |v| format!("{v:.3}"));
                let head = if r.scores.contains_key("composite_test") {
                    format!(
                        "composite {} symmetric {} seen-test {}",
                        get("composite_test"),
                        get("symmetric_test"),
                        get("seen_test")
                    )
                } else {
                    format!(
                        "train {} test {} ood {}",
                        get("acc_train"),
                        get("acc_test"),
                        get("acc_ood")
                    )
                };
                // The evaluation before the first step has no training loss: "-", not NaN,
                // which reads as a divergence.
                let loss = if r.step == 0 {
                    "-".into()
                } else {
                    format!("{:.4}", r.train_loss)
                };
                say(format!(
                    "epoch {epoch:>4} replica {} (seed {} gamma {} lr {:.1e}): loss {loss} {head} [{}]",
                    r.replica, r.seed, r.gamma, r.lr_peak, r.status
                ));
            }
        }
        Event::Diverged { replica, divergence } => {
            say(format!("replica {replica} {divergence}; the other replicas go on"))
        }
        Event::TimeLimit { epoch } => say(format!(
            "time limit reached after epoch {epoch}; checkpointed, continue with --resume"
        )),
    });
    bar.finish_and_clear();
    result
}

fn write_records(
    c: &TrainCommand,
    base: &ExperimentConfig,
    cells: &[ExperimentConfig],
    o: &Outcome,
    wall: f64,
) -> Result<(), CliError> {
    let out = c.out_dir();
    let write = |name: &str, bytes: &[u8]| {
        msym_config::write_atomic(&out.join(name), bytes)
            .map_err(|e| CliError::failed(format!("cannot write {name}: {e}")))
    };
    write("config.resolved.toml", c.config.resolved_toml(base).as_bytes())?;
    let mut m = manifest::start(&c.device.to_string(), manifest::replicas(cells));
    m["matmul_f32"] = crate::backend::matmul_f32(c.device);
    m["finished"] = json!(o.finished);
    m["epochs_done"] = json!(o.epochs_done);
    m["steps_per_epoch"] = json!(o.steps_per_epoch);
    m["train_seconds"] = json!(o.train_seconds);
    m["wall_seconds"] = json!(wall);
    m["ms_per_step"] = json!(o.train_seconds * 1e3 / (o.epochs_done.max(1) * o.steps_per_epoch) as f64);
    write(
        "manifest.json",
        serde_json::to_string_pretty(&m).expect("json").as_bytes(),
    )
}

fn print_summary(o: &Outcome, out: &std::path::Path) {
    println!(
        "{} after {} epochs ({:.1} s training); results in {}",
        if o.finished { "finished" } else { "stopped" },
        o.epochs_done,
        o.train_seconds,
        out.display()
    );
    for s in &o.summaries {
        let f = |k: &str| s.final_scores.get(k).map_or("-".into(), |v| format!("{v:.3}"));
        let m = |k: &str| s.max_scores.get(k).map_or("-".into(), |v| format!("{v:.3}"));
        println!(
            "replica {} seed {} gamma {} lr {:.1e} [{}]: composite {} (max {}), symmetric {} (max {}), seen-test {}{}",
            s.replica,
            s.seed,
            s.gamma,
            s.lr_peak,
            s.status,
            f("composite_test"),
            m("composite_test"),
            f("symmetric_test"),
            m("symmetric_test"),
            f("seen_test"),
            s.divergence.as_ref().map_or(String::new(), |d| format!("; {d}"))
        );
    }
    if let Some(note) = together_note(&o.summaries) {
        println!("{note}");
    }
}

/// What a run tells when all its replicas diverged at one step
/// (trainer::metrics::diverged_together); None otherwise.
pub fn together_note(summaries: &[trainer::ReplicaSummary]) -> Option<String> {
    let step = trainer::metrics::diverged_together(summaries)?;
    Some(format!(
        "note: all {} replicas diverged at step {step}. Either the settings they share diverge \
         (one cell trained alone diverges too), or the batched step failed at this size (device \
         memory full, an index too large), and fewer replicas (`--max-replicas N` for a sweep) \
         train finite",
        summaries.len()
    ))
}
