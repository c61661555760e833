//! The training loop of one run: R replicas ("cells" that differ only in seed, data seed,
//! gamma or peak learning rate) trained side by side, evaluated every `eval.every_epochs`,
//! checkpointed every `checkpoint_every` epochs, stoppable at a time limit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anchor_data::{Dataset, generate};
use burn::module::AutodiffModule;
use burn::tensor::DType;
use burn::tensor::backend::AutodiffBackend;
use models::{ReplicaInit, build_model, cast_module};
use msym_config::{ExperimentConfig, Precision};
use serde::Serialize;

use crate::checkpoint::{self, LoopState};
use crate::data::{DeviceData, EvalSet};
use crate::eval::evaluate;
use crate::guard::Divergence;
use crate::metrics::{self, ReplicaSummary, Row};
use crate::rundir::{self, DirMode, Start};
use crate::schedule::lr_at;
use crate::step::{StepState, train_step};

/// How to run, beyond the configs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub out: PathBuf,
    pub mode: DirMode,
    /// Checkpoint every this many epochs (and at the end and at a time limit).
    pub checkpoint_every: usize,
    /// Stop cleanly after the last epoch that fits (checkpointed, resumable).
    pub time_limit: Option<Duration>,
    /// Samples per forward pass during evaluation.
    pub eval_chunk: usize,
    /// Samples scored per trained group (test groups and untrained groups are scored whole).
    pub eval_train_cap: usize,
    /// Also keep the checkpoint of these epochs, each in snapshots/epoch-NNN/ (see
    /// checkpoint::snapshot): a run keeps only its latest checkpoint otherwise, and the
    /// analyses of a model at its best epoch need that epoch's weights.
    pub snapshot_epochs: Vec<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            out: PathBuf::from("runs/run"),
            mode: DirMode::New,
            checkpoint_every: 1,
            time_limit: None,
            eval_chunk: 4096,
            eval_train_cap: 2048,
            snapshot_epochs: Vec::new(),
        }
    }
}

/// Progress reports for the caller (progress bar, log lines).
pub enum Event<'a> {
    Start {
        epochs: usize,
        steps_per_epoch: usize,
        replicas: usize,
        resumed_at: usize,
    },
    Step {
        step: usize,
    },
    Eval {
        epoch: usize,
        rows: &'a [Row],
    },
    Diverged {
        replica: usize,
        divergence: &'a Divergence,
    },
    TimeLimit {
        epoch: usize,
    },
}

/// The end of a run (or of a time-limited part of it).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub finished: bool,
    pub epochs_done: usize,
    pub steps_per_epoch: usize,
    pub train_seconds: f64,
    pub summaries: Vec<ReplicaSummary>,
}

/// A config with the fields that replicas may differ in (seed, data seed, gamma, peak
/// learning rate, description) blanked: cells with equal shapes train as one run.
pub fn shape_of(c: &ExperimentConfig) -> ExperimentConfig {
    let mut c = c.clone();
    c.seed = 0;
    c.data_seed = None;
    c.init.gamma = 1.0;
    c.train.lr_peak = 1.0;
    c.description.clear();
    c
}

/// The type a step computes in, or None for the master weights' own (f32 or f64).
/// bf16 needs a device that does arithmetic in it: refused, never silently ignored.
pub fn compute_dtype<B: AutodiffBackend>(precision: Precision, device: &B::Device) -> Result<Option<DType>, String> {
    match precision {
        Precision::F32 => Ok(None),
        Precision::Bf16 if B::supports_dtype(device, DType::BF16) => Ok(Some(DType::BF16)),
        Precision::Bf16 => Err(
            "train.precision = \"bf16\" needs a device that computes in bf16 (--device cuda); the CPU backend has f32 only, so use precision = \"f32\" here"
                .into(),
        ),
    }
}

/// Checks that every snapshot epoch is one that a run of `epochs` epochs trains.
pub fn check_snapshots(snapshots: &[usize], epochs: usize) -> Result<(), String> {
    match snapshots.iter().find(|&&e| e == 0 || e > epochs) {
        Some(e) => Err(format!(
            "--snapshots: epoch {e} is not one the run trains; give epochs from 1 to {epochs} (train.epochs; epoch 0 needs no snapshot, the seed rebuilds it)"
        )),
        None => Ok(()),
    }
}

/// Checks that `cells` can train as replicas of one model.
pub fn check_cells(cells: &[ExperimentConfig]) -> Result<(), String> {
    let first = cells.first().ok_or("no cells to train")?;
    match cells.iter().position(|c| shape_of(c) != shape_of(first)) {
        Some(i) => Err(format!(
            "cell {i} differs from cell 0 in more than seed, data_seed, init.gamma and train.lr_peak, so they cannot train as replicas of one run"
        )),
        None => Ok(()),
    }
}

fn datasets(cells: &[ExperimentConfig]) -> Result<Vec<Dataset>, String> {
    let mut cache: BTreeMap<u64, Dataset> = BTreeMap::new();
    cells
        .iter()
        .map(|c| {
            let seed = c.data_seed();
            if let std::collections::btree_map::Entry::Vacant(e) = cache.entry(seed) {
                e.insert(generate(&c.task, seed).map_err(|e| e.to_string())?);
            }
            Ok(cache[&seed].clone())
        })
        .collect()
}

/// Trains `cells` as replicas in `opts.out`.
pub fn train<B: AutodiffBackend>(
    cells: &[ExperimentConfig],
    opts: &RunOptions,
    device: &B::Device,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome, String> {
    check_cells(cells)?;
    // Before anything is written, so a refused run leaves no directory behind.
    let compute = compute_dtype::<B>(cells[0].train.precision, device)?;
    check_snapshots(&opts.snapshot_epochs, cells[0].train.epochs)?;
    let start = rundir::prepare(&opts.out, opts.mode, cells)?;
    let cfg = &cells[0];
    let t = &cfg.train;
    let batch = t.batch_size.expect("resolved");
    let data_sets = datasets(cells)?;
    let seeds: Vec<u64> = cells.iter().map(|c| c.seed).collect();
    let data = DeviceData::<B>::new(&data_sets, &seeds, device);
    let spe = data.steps_per_epoch(batch);
    if spe == 0 {
        return Err(format!(
            "train.batch_size = {batch} is larger than the {} training rows, so an epoch has no full batch",
            data.train_rows[0].len()
        ));
    }
    let eval_set = EvalSet::<B::InnerBackend>::new(&data_sets, opts.eval_train_cap, device);
    let inits: Vec<ReplicaInit> = cells
        .iter()
        .map(|c| ReplicaInit {
            seed: c.seed,
            gamma: c.init.gamma,
        })
        .collect();
    let model = build_model::<B>(cfg, &inits, device);
    let r = cells.len();
    let mut s = StepState::new(model, t, compute, device);
    let metrics_path = opts.out.join(rundir::METRICS);
    let mut state = LoopState {
        epoch: 0,
        step: 0,
        rows: Vec::new(),
        train_seconds: 0.0,
        pending_loss: Vec::new(),
        pending_steps: 0,
    };
    match start {
        Start::AlreadyFinished => {
            let summaries: Vec<ReplicaSummary> = read_summary_file(&opts.out)?.replicas;
            return Ok(Outcome {
                finished: true,
                epochs_done: t.epochs,
                steps_per_epoch: spe,
                train_seconds: 0.0,
                summaries,
            });
        }
        Start::FromCheckpoint => {
            state = checkpoint::load::<B>(&opts.out, &mut s.model, &mut s.opt, &mut s.guard, device)?;
            s.model_changed();
            s.restore_pending_losses(&state.pending_loss, state.pending_steps);
            // A session killed between a snapshot epoch's checkpoint and its copy resumes
            // from that checkpoint: copy it now, or the snapshot would never be written.
            if opts.snapshot_epochs.contains(&state.epoch) && !checkpoint::has_snapshot(&opts.out, state.epoch) {
                checkpoint::snapshot(&opts.out, state.epoch).map_err(|e| e.to_string())?;
            }
            metrics::truncate(&metrics_path, state.rows.len()).map_err(|e| e.to_string())?;
        }
        Start::Fresh => {
            let _ = std::fs::remove_file(&metrics_path);
        }
    }
    on(Event::Start {
        epochs: t.epochs,
        steps_per_epoch: spe,
        replicas: r,
        resumed_at: state.epoch,
    });
    let lr_peaks: Vec<f64> = cells.iter().map(|c| c.train.lr_peak).collect();
    let session = Instant::now();
    let mut evaluator = Evaluator {
        set: &eval_set,
        cells,
        spe,
        chunk: opts.eval_chunk,
        path: &metrics_path,
        reported: vec![false; r],
    };
    if state.epoch == 0 && state.rows.is_empty() {
        evaluator.run(&mut s, &mut state, on)?;
    }
    let mut finished = state.epoch >= t.epochs;
    while state.epoch < t.epochs {
        let epoch_start = Instant::now();
        let order = data.epoch_order(state.epoch);
        for k in 0..spe {
            let lrs: Vec<f64> = lr_peaks.iter().map(|&p| lr_at(state.step, spe, t, p)).collect();
            train_step(&mut s, &data, &order, k * batch, state.step, &lrs, t);
            state.step += 1;
            on(Event::Step { step: state.step });
        }
        state.epoch += 1;
        let last = state.epoch == t.epochs;
        if last || state.epoch.is_multiple_of(cfg.eval.every_epochs) {
            evaluator.run(&mut s, &mut state, on)?;
        }
        state.train_seconds += epoch_start.elapsed().as_secs_f64();
        let out_of_time = opts.time_limit.is_some_and(|limit| {
            let per_epoch = session.elapsed().as_secs_f64() / (state.epoch as f64).max(1.0);
            session.elapsed().as_secs_f64() + per_epoch > limit.as_secs_f64()
        });
        let stopping = last || out_of_time;
        let snapshot = opts.snapshot_epochs.contains(&state.epoch);
        if stopping || snapshot || state.epoch.is_multiple_of(opts.checkpoint_every) {
            (state.pending_loss, state.pending_steps) = s.pending_losses();
            checkpoint::save::<B>(&opts.out, &s.model, &s.opt, &s.guard, &state).map_err(|e| e.to_string())?;
            if snapshot {
                checkpoint::snapshot(&opts.out, state.epoch).map_err(|e| e.to_string())?;
            }
            // The summary follows every checkpoint, not only the end of a session: a run
            // killed between them still says how far it got and what it measured, and
            // `msym compare` reads it as a run in progress. A session that stops writes it
            // once, after the loop.
            if !stopping {
                let so_far = metrics::summarize(&state.rows, &s.guard.report());
                write_summary(&opts.out, false, state.epoch, spe, state.train_seconds, &so_far)?;
            }
        }
        if last {
            finished = true;
        } else if out_of_time {
            on(Event::TimeLimit { epoch: state.epoch });
            break;
        }
    }
    let summaries = metrics::summarize(&state.rows, &s.guard.report());
    write_summary(&opts.out, finished, state.epoch, spe, state.train_seconds, &summaries)?;
    Ok(Outcome {
        finished,
        epochs_done: state.epoch,
        steps_per_epoch: spe,
        train_seconds: state.train_seconds,
        summaries,
    })
}

/// Evaluates, appends the rows to metrics.csv and reports new divergences.
struct Evaluator<'a, B: AutodiffBackend> {
    set: &'a EvalSet<B::InnerBackend>,
    cells: &'a [ExperimentConfig],
    spe: usize,
    chunk: usize,
    path: &'a std::path::Path,
    /// Replicas whose divergence has been reported already.
    reported: Vec<bool>,
}

impl<B: AutodiffBackend> Evaluator<'_, B> {
    fn run(
        &mut self,
        s: &mut StepState<B>,
        state: &mut LoopState,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), String> {
        // Scored in the precision the model trains in.
        let scores = match s.compute {
            Some(dtype) => evaluate(&cast_module(&s.model.valid(), dtype), self.set, self.chunk),
            None => evaluate(&s.model.valid(), self.set, self.chunk),
        };
        let losses = s.take_mean_losses();
        let divergences = s.guard.report();
        let cells = self.cells;
        let t = &cells[0].train;
        let epoch = state.epoch;
        let rows: Vec<Row> = scores
            .into_iter()
            .enumerate()
            .map(|(r, sc)| Row {
                epoch,
                step: state.step,
                replica: r,
                seed: cells[r].seed,
                gamma: cells[r].init.gamma,
                lr_peak: cells[r].train.lr_peak,
                lr: lr_at(state.step, self.spe, t, cells[r].train.lr_peak),
                train_loss: losses[r],
                status: match (&divergences[r], epoch == t.epochs) {
                    (Some(_), _) => "diverged".into(),
                    (None, true) => "finished".into(),
                    (None, false) => "training".into(),
                },
                scores: sc,
            })
            .collect();
        metrics::append(self.path, &rows).map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        on(Event::Eval { epoch, rows: &rows });
        for (r, d) in divergences.iter().enumerate() {
            if let (Some(d), false) = (d, self.reported[r]) {
                self.reported[r] = true;
                on(Event::Diverged {
                    replica: r,
                    divergence: d,
                });
            }
        }
        state.rows.extend(rows);
        Ok(())
    }
}

/// summary.json of a run directory, rewritten with every checkpoint.
#[derive(Serialize, serde::Deserialize)]
pub struct SummaryFile {
    pub finished: bool,
    pub epochs_done: usize,
    pub steps_per_epoch: usize,
    /// Training time of all sessions so far (evaluation and checkpoints included).
    pub train_seconds: f64,
    pub replicas: Vec<ReplicaSummary>,
}

fn write_summary(
    dir: &std::path::Path,
    finished: bool,
    epochs_done: usize,
    steps_per_epoch: usize,
    train_seconds: f64,
    replicas: &[ReplicaSummary],
) -> Result<(), String> {
    let f = SummaryFile {
        finished,
        epochs_done,
        steps_per_epoch,
        train_seconds,
        replicas: replicas.to_vec(),
    };
    let json = serde_json::to_string_pretty(&f).expect("summary serializes");
    msym_config::write_atomic(&dir.join(rundir::SUMMARY), json.as_bytes()).map_err(|e| e.to_string())
}

/// The summary.json of run directory `dir`.
pub fn read_summary_file(dir: &std::path::Path) -> Result<SummaryFile, String> {
    let path = dir.join(rundir::SUMMARY);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
