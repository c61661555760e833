//! `msym reproduce FIGURE [--quick] [--out DIR] [--device D | --devices L]`: one command
//! per paper figure. It sweeps `configs/<FIGURE>[_quick].toml` (skipping finished cells,
//! so an interrupted reproduction goes on where it stopped), aggregates phase.csv, draws
//! the figure (heatmaps for phase figures, training curves for curve figures) and, last,
//! runs `msym compare` on the results.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;

use crate::args::ConfigArgs;
use crate::backend::DeviceArg;
use crate::devices::Devices;
use crate::error::CliError;
use crate::figures::{self, Drawing};
use crate::plot_cmd;
use crate::schedule::Scheduling;
use crate::sweep_cmd::{self, SweepCommand};

#[derive(Args)]
pub struct ReproduceCommand {
    /// fig3, fig4, fig5a, fig5b, fig5c, fig6, fig7, supp or ref (SPEC section 4).
    figure: String,
    /// The CPU-sized variant, configs/<FIGURE>_quick.toml (minutes; too small for the paper's numbers).
    #[arg(long)]
    quick: bool,
    /// Where the sweep, phase.csv and figures go (default: reproduce/<FIGURE>[_quick]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: DeviceArg,
    /// Spread the sweep over these devices of one host (as `msym sweep --devices`).
    #[arg(long, value_name = "LIST", conflicts_with = "device")]
    devices: Option<Devices>,
    /// Stop cleanly before this many minutes; rerun the same command to continue.
    #[arg(long, value_name = "MINUTES")]
    time_limit: Option<f64>,
    /// Stop at the first diverged cell (exit 1) instead of recording it and going on.
    #[arg(long)]
    fail_fast: bool,
    /// Folder holding the figure configs.
    #[arg(long, value_name = "DIR", default_value = "configs")]
    configs: PathBuf,
    /// Override a field of the figure's config (repeatable), as in `msym sweep`.
    #[arg(long = "set", value_name = "SECTION.FIELD=VALUE")]
    set: Vec<String>,
    /// Also keep the checkpoints of these epochs, e.g. 60,210: each in the training runs'
    /// snapshots/epoch-NNN/, which `msym analyze` reads (a run otherwise keeps only its
    /// latest checkpoint).
    #[arg(long, value_name = "EPOCHS", value_delimiter = ',')]
    snapshots: Vec<usize>,
    #[command(flatten)]
    scheduling: Scheduling,
}

pub fn run(c: ReproduceCommand) -> Result<(), CliError> {
    let figure = figures::find(&c.figure).map_err(CliError::input)?;
    let name = if c.quick {
        format!("{}_quick", figure.id)
    } else {
        figure.id.to_string()
    };
    let config = c.configs.join(format!("{name}.toml"));
    if !config.is_file() {
        return Err(CliError::input(format!(
            "{} does not exist; run from the repository root or pass --configs DIR",
            config.display()
        )));
    }
    let out = c.out.clone().unwrap_or_else(|| PathBuf::from("reproduce").join(&name));
    println!("[1/5] sweep {} into {}", config.display(), out.display());
    let complete = sweep_cmd::sweep(SweepCommand {
        config: ConfigArgs {
            config: Some(config),
            config_flag: None,
            set: c.set.clone(),
        },
        device: c.device,
        devices: c.devices.clone(),
        fail_fast: c.fail_fast,
        out: Some(out.clone()),
        resume: None,
        shard: None,
        emit_slurm: None,
        shards: None,
        time_limit: c.time_limit,
        force: false,
        snapshots: c.snapshots.clone(),
        scheduling: c.scheduling.clone(),
    })?;
    if !complete {
        // Figures and the comparison need every cell; a time-boxed or --only job is not a
        // failure.
        println!(
            "not every cell is finished, so no figure yet; rerun `msym reproduce {}` to continue (the runs' metrics.csv hold the epochs so far)",
            c.figure
        );
        return Ok(());
    }
    println!("[2/5] aggregated {}", out.join("phase.csv").display());
    println!("[3/5] {}", figure.title);
    let written = match figure.drawing {
        Drawing::Phase => plot_cmd::heatmaps(&out, &out)?,
        Drawing::Curves(metrics) => {
            let metrics: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
            let title = if c.quick {
                format!("{} (quick)", figure.title)
            } else {
                figure.title.to_string()
            };
            plot_cmd::curves(std::slice::from_ref(&out), &metrics, &title, &out, "curves")?
        }
    };
    for p in written {
        println!("wrote {}", p.display());
    }
    // fig4 and supp are analyses of the models just trained: run them before comparing.
    crate::analyze_cmd::after_reproduce(figure.id, &out)?;
    compare(&out)?;
    // Where the results came from, for publishing them: seeds, config ids, data and init
    // digests checked against the runs' records, binaries and cards (`msym manifest`).
    println!("[5/5] msym manifest {}", out.display());
    crate::manifest_cmd::write(&out, None)
}

/// The last step: `msym compare OUT`, run as a child of this same binary so that its report
/// is exactly what the command prints on its own.
fn compare(out: &Path) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(|e| CliError::failed(format!("cannot find the msym binary: {e}")))?;
    let has_compare = Command::new(&exe)
        .args(["compare", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_compare {
        println!(
            "[4/5] skipped: this msym has no `compare` command; the results are in {}",
            out.display()
        );
        return Ok(());
    }
    println!("[4/5] msym compare {}", out.display());
    let status = Command::new(&exe)
        .arg("compare")
        .arg(out)
        .status()
        .map_err(|e| CliError::failed(format!("cannot run msym compare: {e}")))?;
    if !status.success() {
        return Err(CliError::failed(format!(
            "msym compare {} failed ({status}); the sweep and its figures are in that folder",
            out.display()
        )));
    }
    Ok(())
}
