//! `msym`: the one binary of the harness. Each subcommand lives in its own module.

mod analysis;
mod analyze_cmd;
mod args;
mod backend;
mod bench_cmd;
mod collect_cmd;
mod compare_cmd;
mod config_cmd;
mod curve_sources;
mod data_cmd;
mod decode;
mod devices;
mod doctor_cmd;
mod error;
mod export_cmd;
mod figures;
mod host_profile;
mod info_cmd;
mod json_file;
mod manifest;
mod manifest_cmd;
mod out_dir;
mod phase;
mod plot_cmd;
mod progress_cmd;
mod reproduce_cmd;
mod schedule;
mod sweep_cmd;
mod sweep_pool;
mod train_cmd;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

#[derive(Parser)]
#[command(
    name = "msym",
    version,
    about = "Reproduction harness for the Mamba-symmetry experiments (Chen et al., NeurIPS 2025)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a config (the cross product of --seeds, --gammas, --lrs as replicas).
    Train(train_cmd::TrainCommand),
    /// Train every cell of the config's [sweep] grid (shared shapes as replicas) and write phase.csv.
    Sweep(sweep_cmd::SweepCommand),
    /// Reproduce a paper figure: sweep its config, aggregate, plot, compare.
    Reproduce(reproduce_cmd::ReproduceCommand),
    /// Analyses of a trained model (fig4 flow, fig4a blocking, fig4b substitution, supp conv
    /// similarity): CSV and figures.
    #[command(subcommand)]
    Analyze(analyze_cmd::AnalyzeCommand),
    /// Heatmaps (SVG and PNG) of a sweep's phase.csv, or --curves: accuracy against epoch.
    Plot(plot_cmd::PlotCommand),
    /// Merge sweep shards into one sweep directory and write its phase.csv.
    Collect(collect_cmd::CollectCommand),
    /// Our results against the paper's numbers (RESULTS), or one run against another (RUN_A RUN_B).
    Compare(compare_cmd::CompareCommand),
    /// Inspect, check and export the generated dataset of a config.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Print the resolved config (every default explicit) after --set overrides.
    Config(config_cmd::ConfigCommand),
    /// Reproducibility (seeds) and label correctness (labels) checks.
    #[command(subcommand)]
    Verify(verify_cmd::VerifyCommand),
    /// The debugging checklist as one PASS / WARN / FAIL report (shapes, init, gradient
    /// flow, overfit, NaN hunt, profile); exit 1 when a check fails.
    Doctor(doctor_cmd::DoctorCommand),
    /// ms per training step on this device (R = 1 and replica-batched, f32 and bf16) next to
    /// the PyTorch baseline measured in the same call; writes results/bench/<card>-<date>.json.
    Bench(bench_cmd::BenchCommand),
    /// Versions, backend and a numerical check that the device computes correctly.
    Info(info_cmd::InfoCommand),
    /// How far the runs of a sweep or run directory have trained, and what is left at the
    /// pace so far (for planning the next time-boxed session).
    Progress(progress_cmd::ProgressCommand),
    /// A results folder's provenance in one file (DIR/manifest.json): every cell's seeds,
    /// config id and data and initial-weight digests, recomputed and checked against what its
    /// run recorded (exit 1 on a difference), and every run's binaries, cards and time.
    Manifest(manifest_cmd::ManifestCommand),
    /// Initial weights of one replica as safetensors (mamba_ssm names), with 16 test
    /// sequences and their logits, for comparison with PyTorch.
    Export(export_cmd::ExportCommand),
}

fn main() -> ExitCode {
    // `msym data stats ... | head` should end quietly, as other Unix tools do, instead of
    // panicking on the closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // the A/B settings of the custom kernels' launch shapes (models::launch_shape), checked
    // before any command, and the bench's host profiler (host_profile), likewise
    if let Err(message) = models::launch_shape::apply_launch_env().and(host_profile::check_env()) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let result: Result<(), CliError> = match cli.command {
        Command::Train(c) => train_cmd::run(c),
        Command::Bench(c) => bench_cmd::run(c),
        Command::Sweep(c) => sweep_cmd::run(c),
        Command::Collect(c) => collect_cmd::run(c),
        Command::Reproduce(c) => reproduce_cmd::run(c),
        Command::Plot(c) => plot_cmd::run(c),
        Command::Analyze(c) => analyze_cmd::run(c),
        Command::Compare(c) => compare_cmd::run(c),
        Command::Data(c) => data_cmd::run(c),
        Command::Config(c) => config_cmd::run(c),
        Command::Verify(c) => verify_cmd::run(c),
        Command::Doctor(c) => doctor_cmd::run(c),
        Command::Info(c) => info_cmd::run(c),
        Command::Progress(c) => progress_cmd::run(c),
        Command::Manifest(c) => manifest_cmd::run(c),
        Command::Export(c) => export_cmd::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
