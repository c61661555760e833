//! `msym bench`: ms per training step on the card it runs on, one run (R = 1) at several
//! depths and replica-batched (R cells per step) for sweep throughput, in f32 and bf16,
//! with the PyTorch baseline (scripts/torch_reference.py, eager and compiled) measured in
//! the same call so that every ratio compares numbers from one card and one session.
//! Writes `<out>/<card>-<date>.json` and a markdown table next to it.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use msym_config::{ExperimentConfig, Precision};
use serde_json::{Map, Value, json};
use trainer::bench::{StepTiming, time_steps};

use crate::backend::{self, CpuBackend, DeviceArg};
use crate::error::CliError;

/// Runs of the fig3 sweep (6 depths x 12 gammas x 3 seeds) and replica-steps of each.
const FIG3_RUNS: f64 = 216.0;
const FIG3_STEPS_PER_RUN: f64 = 210.0 * 124.0;

#[derive(Args)]
pub struct BenchCommand {
    /// The model and training to time (the fig3 cell by default).
    #[arg(long, default_value = "configs/composite.toml")]
    config: PathBuf,
    /// Override a field, as in `msym train`.
    #[arg(long = "set", value_name = "SECTION.FIELD=VALUE")]
    set: Vec<String>,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cuda")]
    device: DeviceArg,
    /// Depths timed one run at a time (R = 1).
    #[arg(long, value_delimiter = ',', default_value = "2,4,7")]
    depths: Vec<usize>,
    /// Replica counts timed at --sweep-depth (sweep throughput).
    #[arg(long, value_delimiter = ',', default_value = "1,12,36")]
    replicas: Vec<usize>,
    #[arg(long, default_value_t = 4)]
    sweep_depth: usize,
    /// Default: f32,bf16 on CUDA, f32 on the CPU (which has no bf16).
    #[arg(long, value_delimiter = ',')]
    precisions: Option<Vec<String>>,
    /// Timed steps per measurement (after the warm-up).
    #[arg(long, default_value_t = 30)]
    steps: usize,
    /// Untimed steps first: they pay kernel compilation and autotuning.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// The PyTorch baseline script.
    #[arg(long, default_value = "scripts/torch_reference.py")]
    torch: PathBuf,
    /// Skip the PyTorch baseline (its fields are then null, with the reason).
    #[arg(long)]
    no_torch: bool,
    #[arg(long, default_value = "python3")]
    python: String,
    /// Where the JSON and markdown go.
    #[arg(long, default_value = "results/bench")]
    out: PathBuf,
    /// Card name for the file name and report (default: nvidia-smi's, or "cpu").
    #[arg(long)]
    card: Option<String>,
}

fn precision(name: &str) -> Result<Precision, CliError> {
    Precision::ALL.into_iter().find(|p| p.name() == name).ok_or_else(|| {
        CliError::input(format!(
            "--precisions: '{name}' is not a precision; use f32 and/or bf16"
        ))
    })
}

fn configured(base: &Path, set: &[String], depth: usize, p: Precision) -> Result<ExperimentConfig, CliError> {
    let mut set = set.to_vec();
    set.push(format!("model.depth={depth}"));
    set.push(format!("train.precision=\"{}\"", p.name()));
    Ok(msym_config::load(base, &set)?)
}

fn time_on(device: DeviceArg, cfg: &ExperimentConfig, r: usize, c: &BenchCommand) -> Result<StepTiming, CliError> {
    use burn::backend::Autodiff;
    let tag = format!("d{}-r{r}-{}", cfg.model.depth(), cfg.train.precision.name());
    let scope = || crate::host_profile::start(&tag);
    let result = backend::guarded(device, || match device {
        DeviceArg::Cpu => time_steps::<Autodiff<CpuBackend>>(cfg, r, c.warmup, c.steps, &Default::default(), &scope),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda(i) => time_steps::<Autodiff<backend::CudaBackend>>(
            cfg,
            r,
            c.warmup,
            c.steps,
            &burn::backend::cuda::CudaDevice { index: i },
            &scope,
        ),
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda(_) => unreachable!("refused by require_available"),
    })?;
    let t = result.map_err(CliError::input)?;
    if !t.mean_loss.is_finite() {
        return Err(CliError::failed(format!(
            "depth {} R = {r} {}: the timed steps' loss is {}, so the timing measured a broken run",
            t.depth, t.precision, t.mean_loss
        )));
    }
    eprintln!(
        "msym  depth {} R = {:>2} {:>4}: {:8.2} ms/step, {:8.1} replica-steps/s (warm-up {:.1} s, loss {:.3}; host ms a step: forward {:.2}, backward {:.2}, optimizer {:.2})",
        t.depth,
        t.replicas,
        t.precision,
        t.ms_per_step,
        t.replica_steps_per_s,
        t.warmup_s,
        t.mean_loss,
        t.host_ms[0],
        t.host_ms[1],
        t.host_ms[2]
    );
    Ok(t)
}

/// The baseline's JSON lines, or the reason there are none.
fn torch(c: &BenchCommand, extra: &[&str], depths: &[usize]) -> Result<Vec<Value>, String> {
    let depths: Vec<String> = depths.iter().map(usize::to_string).collect();
    let mut cmd = Command::new(&c.python);
    cmd.arg(&c.torch)
        .args(["bench", "--depths", &depths.join(",")])
        .args([
            "--steps",
            &c.steps.to_string(),
            "--warmup",
            &c.warmup.max(3).to_string(),
        ])
        .args(extra);
    let out = cmd
        .output()
        .map_err(|e| format!("could not run {} {}: {e}", c.python, c.torch.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("no message");
        return Err(format!("{} {} failed: {last}", c.python, c.torch.display()));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("unreadable line from the baseline ({e}): {l}")))
        .collect()
}

fn card_name(c: &BenchCommand) -> String {
    c.card.clone().unwrap_or_else(|| crate::manifest::card(c.device))
}

/// YYYY-MM-DD (UTC) from the system clock.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn check(c: &BenchCommand) -> Result<Vec<Precision>, CliError> {
    if c.steps == 0 {
        return Err(CliError::input("--steps 0: at least one step must be timed"));
    }
    if let Some(&d) = c.depths.iter().chain([&c.sweep_depth]).find(|&&d| d == 0) {
        return Err(CliError::input(format!("depth {d}: depths start at 1")));
    }
    if c.replicas.contains(&0) {
        return Err(CliError::input(
            "--replicas: a replica count of 0 times nothing; use 1 or more",
        ));
    }
    backend::require_available(c.device)?;
    let names = match (&c.precisions, c.device) {
        (Some(p), _) => p.clone(),
        (None, DeviceArg::Cpu) => vec!["f32".into()],
        (None, DeviceArg::Cuda(_)) => vec!["f32".into(), "bf16".into()],
    };
    let precisions: Vec<Precision> = names.iter().map(|p| precision(p)).collect::<Result<_, _>>()?;
    if c.device == DeviceArg::Cpu && precisions.contains(&Precision::Bf16) {
        return Err(CliError::input(
            "--precisions bf16 needs --device cuda: the CPU backend computes in f32 only",
        ));
    }
    Ok(precisions)
}

pub fn run(c: BenchCommand) -> Result<(), CliError> {
    let precisions = check(&c)?;
    let card = card_name(&c);
    let mut ms = Map::new();
    let mut throughput = Map::new();
    let mut timings = Vec::new();
    for &p in &precisions {
        let tag = if p == Precision::Bf16 { "bf16_" } else { "" };
        for &d in &c.depths {
            let t = time_on(c.device, &configured(&c.config, &c.set, d, p)?, 1, &c)?;
            ms.insert(format!("msym_{tag}d{d}"), json!(t.ms_per_step));
            timings.push(t);
        }
        for &r in &c.replicas {
            let key = format!("msym_{tag}d{}_r{r}", c.sweep_depth);
            // R = 1 at the sweep depth was timed with the depths already.
            let done = timings
                .iter()
                .find(|t: &&StepTiming| (t.replicas, t.depth, t.precision.as_str()) == (r, c.sweep_depth, p.name()));
            if let Some(t) = done {
                throughput.insert(key, json!(t.replica_steps_per_s));
                continue;
            }
            let t = time_on(c.device, &configured(&c.config, &c.set, c.sweep_depth, p)?, r, &c)?;
            throughput.insert(key, json!(t.replica_steps_per_s));
            timings.push(t);
        }
    }
    let mut torch_runs = Vec::new();
    let mut torch_note = Value::Null;
    if c.no_torch {
        torch_note = json!("skipped (--no-torch)");
    } else {
        // --tf32: PyTorch with the matmul precision msym's f32 has on tensor-core GPUs
        // (matmul_f32 below), at the sweep depth, eager and compiled, beside its f32 default
        let mut runs: Vec<(&[&str], Vec<usize>)> = vec![
            (&[], c.depths.clone()),
            (&["--compile"], vec![c.sweep_depth]),
            (&["--tf32"], vec![c.sweep_depth]),
            (&["--compile", "--tf32"], vec![c.sweep_depth]),
        ];
        if precisions.contains(&Precision::Bf16) {
            runs.push((&["--bf16"], vec![c.sweep_depth]));
        }
        for (extra, depths) in runs {
            match torch(&c, extra, &depths) {
                Ok(lines) => torch_runs.extend(lines),
                Err(why) => {
                    eprintln!("torch baseline: {why}");
                    torch_note = json!(why);
                    break;
                }
            }
        }
    }
    for t in &torch_runs {
        let (mode, prec, d) = (&t["mode"], &t["precision"], &t["depth"]);
        let tag = match prec.as_str() {
            Some("bf16") => "bf16_",
            Some("tf32") => "tf32_",
            _ => "",
        };
        let key = format!("torch_{}_{tag}d{}", mode.as_str().unwrap_or("?"), d);
        eprintln!(
            "torch {key}: {:.2} ms/step",
            t["ms_per_step"].as_f64().unwrap_or(f64::NAN)
        );
        ms.insert(key, t["ms_per_step"].clone());
    }
    // The largest R at the sweep depth, as if every cell of fig3 ran at that depth's speed.
    let best = timings
        .iter()
        .filter(|t| t.depth == c.sweep_depth)
        .max_by(|a, b| a.replica_steps_per_s.total_cmp(&b.replica_steps_per_s));
    let estimate = best.map(|t| FIG3_RUNS * FIG3_STEPS_PER_RUN / t.replica_steps_per_s);
    let mut report = json!({
        "card": card,
        "date": today(),
        "device": c.device.to_string(),
        "build_commit": env!("MSYM_BUILD_COMMIT"),
        "build_features": crate::backend::BUILD_FEATURES,
        "config": c.config.display().to_string(),
        "set": c.set,
        "batch": timings.first().map(|t| t.batch),
        "ms_per_step": ms,
        "replica_steps_per_s": throughput,
        "fig3_sweep_wall_s": Value::Null,
        "fig3_sweep_estimate_s": estimate,
        "fig3_sweep_estimate_basis": best.map(|t| format!(
            "216 runs x 26040 steps at the depth-{} throughput of R = {} {} ({:.1} replica-steps/s); other depths differ",
            t.depth, t.replicas, t.precision, t.replica_steps_per_s
        )),
        "torch_note": torch_note,
        // which precision the f32 timings multiplied in (TF32 on tensor cores, or f32)
        "matmul_f32": crate::backend::matmul_f32(c.device),
        // the fused SSD kernels' units a cube (MSYM_SSD_UNITS, checked at start), or null
        // for the kernels' default
        "ssd_units": std::env::var("MSYM_SSD_UNITS").ok(),
        // the gated norm backward's most tokens a unit a batch (MSYM_NORM_BWD_PER_UNIT), or
        // null for the default
        "norm_backward_per_unit": std::env::var("MSYM_NORM_BWD_PER_UNIT").ok(),
        // the cubek kernel of every product (MSYM_MATMUL_KERNEL), or null for burn's matmul
        "matmul_kernel": std::env::var("MSYM_MATMUL_KERNEL").ok(),
        // the fused xBC product + conv's channels a unit (MSYM_PROJ_CONV_PER), or null for
        // its default
        "proj_conv_per": std::env::var("MSYM_PROJ_CONV_PER").ok(),
        // its steps over d_model unrolled at once (MSYM_PROJ_CONV_UNROLL), or null for all
        "proj_conv_unroll": std::env::var("MSYM_PROJ_CONV_UNROLL").ok(),
        // its tensor-core form's token groups a cube (MSYM_PROJ_CONV_ROUNDS), or null for 16
        "proj_conv_rounds": std::env::var("MSYM_PROJ_CONV_ROUNDS").ok(),
        // "0" where its tensor-core form was turned off (MSYM_PROJ_CONV_MMA), else null
        "proj_conv_mma": std::env::var("MSYM_PROJ_CONV_MMA").ok(),
        // "1" where one tensor-core kernel forms the product's gradients after its
        // tensor-core backward (MSYM_PROJ_CONV_GRADS), else null or "0": burn's two products
        "proj_conv_grads": std::env::var("MSYM_PROJ_CONV_GRADS").ok(),
        // "0" where the SSD backward formed S again (MSYM_SSD_SCORES), else null or "1": the
        // forward kept it
        "ssd_scores": std::env::var("MSYM_SSD_SCORES").ok(),
        // "0" where the kernels' per-group partials were summed by burn's reduction
        // (MSYM_GROUP_SUMS), else null or "1": kernels::linear::sum_groups (in a CUDA build)
        "group_sums": std::env::var("MSYM_GROUP_SUMS").ok(),
        // (MSYM_DT_STAGED), else null or "1": the dt kernels stage u's rows in shared memory
        "dt_staged": std::env::var("MSYM_DT_STAGED").ok(),
        // "1" where xBC's product gradients at R = 1 were the fused linear map's kernels
        // (MSYM_LINEAR_XBC, where that path is on), else null or "0": burn's products
        "linear_xbc": std::env::var("MSYM_LINEAR_XBC").ok(),
        // the least R x G of the linear layers' weight-gradient products (MSYM_GRAD_BATCHES),
        // or null for the square-root rule alone
        "grad_batches": std::env::var("MSYM_GRAD_BATCHES").ok(),
        "msym_timings": timings,
        "torch_timings": torch_runs,
    });
    if let Value::Object(m) = &mut report {
        m.extend(crate::backend::speed_paths()); // fused_ssd, .., split_in_proj
    }
    let stem = format!("{}-{}", slug(&card), today());
    std::fs::create_dir_all(&c.out).map_err(|e| CliError::failed(format!("{}: {e}", c.out.display())))?;
    let json_path = c.out.join(format!("{stem}.json"));
    let md_path = c.out.join(format!("{stem}.md"));
    let text = serde_json::to_string_pretty(&report).expect("json") + "\n";
    msym_config::write_atomic(&json_path, text.as_bytes()).map_err(|e| CliError::failed(e.to_string()))?;
    let md = markdown(&report, &c);
    msym_config::write_atomic(&md_path, md.as_bytes()).map_err(|e| CliError::failed(e.to_string()))?;
    print!("{md}");
    eprintln!("wrote {} and {}", json_path.display(), md_path.display());
    Ok(())
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.digits$}"))
}

/// The report as tables: ms per step (with the ratio to eager PyTorch at the same depth)
/// and sweep throughput.
fn markdown(r: &Value, c: &BenchCommand) -> String {
    let ms = |k: &str| r["ms_per_step"][k].as_f64();
    // each speed path of backend::speed_paths as "<label> on|off, <n> calls"
    let paths = [
        ("fused_ssd", "fused SSD"),
        ("fused_conv", "fused conv"),
        ("fused_conv_ssd", "fused conv + SSD"),
        ("fused_proj_conv", "fused xBC product + conv"),
        ("fused_norm", "fused gated norm"),
        ("fused_rms_norm", "fused RMSNorm"),
        ("fused_embed", "fused embedding"),
        ("fused_ce", "fused cross-entropy"),
        ("fused_dt", "fused dt"),
        ("split_in_proj", "split in_proj"),
        ("keep_flat_params", "kept parameter row"),
        ("fused_adam", "fused optimizer tail"),
        ("row_views", "row views"),
        ("fused_guard", "fused guard"),
        ("in_proj_rows", "in_proj row blocks"),
        ("fused_linear", "fused linear"),
        ("last_query", "last query"),
        ("last_position", "last position"),
        ("f32_matmul", "f32 matmul"),
    ]
    .map(|(k, label)| {
        let on = if r[k]["on"].as_bool() == Some(true) {
            "on"
        } else {
            "off"
        };
        format!("{label} {on}, {} calls", r[k]["calls"])
    })
    .join("; ");
    let mut s = format!(
        "# msym bench: {} ({}), {}\n\nBuilt from {} (backends {}; {paths}; SSD units a cube {}; norm backward tokens a unit {}; matmul kernel {}; xBC product + conv channels a unit {}, unrolled {}, tensor cores {}, groups a cube {}, product gradients {}; SSD S {}; group sums {}; dt rows {}; xBC product gradients at R = 1 {}); config {} (batch {}); {} timed steps after {} warm-up steps.\n\n",
        r["card"].as_str().unwrap_or("?"),
        r["device"].as_str().unwrap_or("?"),
        r["date"].as_str().unwrap_or("?"),
        r["build_commit"].as_str().unwrap_or("?"),
        r["build_features"].as_str().unwrap_or("?"),
        r["ssd_units"].as_str().unwrap_or("default"),
        r["norm_backward_per_unit"].as_str().unwrap_or("default"),
        r["matmul_kernel"].as_str().unwrap_or("burn's"),
        r["proj_conv_per"].as_str().unwrap_or("default"),
        r["proj_conv_unroll"].as_str().unwrap_or("all"),
        if r["proj_conv_mma"].as_str().map(str::trim) == Some("0") {
            "off"
        } else {
            "where the GPU has them"
        },
        r["proj_conv_rounds"].as_str().unwrap_or("16"),
        if r["proj_conv_grads"].as_str().map(str::trim) == Some("1") {
            "one tensor-core kernel"
        } else {
            "burn's products"
        },
        if r["ssd_scores"].as_str().map(str::trim) == Some("0") {
            "formed again in the backward"
        } else {
            "kept by the forward"
        },
        if r["group_sums"].as_str().map(str::trim) == Some("0") {
            "burn's reduction"
        } else {
            "this project's kernel"
        },
        if r["dt_staged"].as_str().map(str::trim) == Some("0") {
            "read by each unit"
        } else {
            "staged in shared memory"
        },
        if r["linear_xbc"].as_str().map(str::trim) == Some("1") {
            "the linear kernels"
        } else {
            "burn's products"
        },
        r["config"].as_str().unwrap_or("?"),
        r["batch"],
        c.steps,
        c.warmup
    );
    s += "## One run (R = 1), ms per step\n\n| depth | msym f32 | msym bf16 | torch eager | torch compile | torch eager tf32 | torch compile tf32 | torch eager bf16 | eager / msym f32 |\n|---|---|---|---|---|---|---|---|---|\n";
    for d in &c.depths {
        let (m, e) = (ms(&format!("msym_d{d}")), ms(&format!("torch_eager_d{d}")));
        s += &format!(
            "| {d} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(m, 2),
            cell(ms(&format!("msym_bf16_d{d}")), 2),
            cell(e, 2),
            cell(ms(&format!("torch_compile_d{d}")), 2),
            cell(ms(&format!("torch_eager_tf32_d{d}")), 2),
            cell(ms(&format!("torch_compile_tf32_d{d}")), 2),
            cell(ms(&format!("torch_eager_bf16_d{d}")), 2),
            cell(m.zip(e).map(|(m, e)| e / m), 2)
        );
    }
    // where the host's time goes at R = 1 (trainer::step::HostClock): the step is
    // host-bound there, so the phases say what to make cheaper
    s += "\nHost ms a step at R = 1 (f32), without waiting for the device: forward / backward / optimizer";
    for t in r["msym_timings"].as_array().into_iter().flatten() {
        if t["replicas"] == 1 && t["precision"] == "f32" {
            let h = |k: usize| cell(t["host_ms"][k].as_f64(), 2);
            s += &format!("; depth {}: {} / {} / {}", t["depth"], h(0), h(1), h(2));
        }
    }
    s += ".\n";
    s += &format!(
        "\n## Sweep throughput at depth {}, replica-steps per second\n\n| R | f32 | bf16 |\n|---|---|---|\n",
        c.sweep_depth
    );
    let tp = |k: String| r["replica_steps_per_s"][k.as_str()].as_f64();
    for rr in &c.replicas {
        s += &format!(
            "| {rr} | {} | {} |\n",
            cell(tp(format!("msym_d{}_r{rr}", c.sweep_depth)), 1),
            cell(tp(format!("msym_bf16_d{}_r{rr}", c.sweep_depth)), 1)
        );
    }
    if let Some(e) = r["fig3_sweep_estimate_s"].as_f64() {
        // The estimate is fig3's grid (216 runs) at this config's rate: with fig6's config it
        // is fig6's sweep, and the line must not call it fig3's.
        s += &format!(
            "\nSweep estimate, fig3's grid with the model of {}: {:.1} h ({}).\n",
            r["config"].as_str().unwrap_or("?"),
            e / 3600.0,
            r["fig3_sweep_estimate_basis"].as_str().unwrap_or("")
        );
    }
    if let Some(n) = r["torch_note"].as_str() {
        s += &format!("\nPyTorch baseline: {n}.\n");
    }
    s + &matmul_lines(&r["matmul_f32"])
}

/// The matmul probe (backend::matmul_f32) as one line per shape.
fn matmul_lines(probes: &Value) -> String {
    match crate::backend::probe_sentences(probes) {
        Ok(lines) => lines.iter().fold(String::from("\n"), |s, l| s + l + ".\n"),
        Err(e) => format!("\nf32 matmul probe failed: {e}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_782), "2026-11-25");
    }

    #[test]
    fn card_names_become_file_names() {
        assert_eq!(slug("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");
    }
}
