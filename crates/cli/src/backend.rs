//! Backend selection. The CPU (ndarray) backend is always built; CUDA only with the `cuda`
//! cargo feature, so a plain `cargo build` needs no GPU toolchain.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::sync::Mutex;

use crate::error::CliError;

/// The ndarray backend: f32 floats, i64 ints.
pub type CpuBackend = burn::backend::NdArray<f32>;
#[cfg(feature = "cuda")]
pub type CudaBackend = burn::backend::Cuda<f32, i32>;

/// `--device cpu | cuda | cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    Cpu,
    Cuda(usize),
}

impl FromStr for DeviceArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a device; use cpu, cuda or cuda:N (N = GPU index)");
        match s {
            "cpu" => Ok(DeviceArg::Cpu),
            "cuda" => Ok(DeviceArg::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceArg::Cuda)
                .ok_or_else(bad),
        }
    }
}

impl std::fmt::Display for DeviceArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceArg::Cpu => f.write_str("cpu"),
            DeviceArg::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// Whether this binary was built with the CUDA backend.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

/// The backends this binary was built with, for bench reports and run manifests: an A/B
/// of builds (burn's operation fusion against plain CUDA) must say which side is which.
pub const BUILD_FEATURES: &str = if cfg!(feature = "fusion") {
    "cpu,cuda,fusion"
} else if cfg!(feature = "autotune") {
    "cpu,cuda,autotune"
} else if cfg!(feature = "cuda") {
    "cpu,cuda"
} else {
    "cpu"
};

/// Each speed path's switch and how many layer calls took it so far in this process, keyed
/// by its name in bench reports and run manifests (so an A/B of two paths cannot be mixed
/// up): the fused SSD, conv, gated norm, input RMSNorm, embedding and cross-entropy
/// (MSYM_FUSED_SSD, _CONV, _NORM, _RMSNORM, _EMBED, _CE: each on by default since its GPU A/B
/// adopted it), the fused conv + SSD (MSYM_FUSED_CONV_SSD, off until its A/B) and the fused
/// xBC product + conv (MSYM_FUSED_PROJ_CONV: on by default where its tensor-core form runs,
/// so "calls" says whether it ran), all in a
/// CUDA build only (none on
/// the CPU backend or in bf16); and the split in_proj
/// (MSYM_SPLIT_IN_PROJ; left to its default it runs only on the CUDA backend in f32, so
/// "calls" says whether it ran); and the optimizer's kept parameter row
/// (MSYM_KEEP_FLAT_PARAMS, on by default on every backend; "calls" counts steps); the fused
/// optimizer tail (MSYM_FUSED_ADAM, on by default since session 17, CubeCL backends in f32
/// only; "calls" counts updates); and the
/// Transformer's last query (MSYM_LAST_QUERY, off by default; "calls" counts forwards).
pub fn speed_paths() -> serde_json::Map<String, serde_json::Value> {
    #[cfg(feature = "cuda")]
    let fused = {
        use models::{
            fused_ce, fused_conv, fused_conv_ssd, fused_dt, fused_embed, fused_linear, fused_norm, fused_proj_conv,
            fused_rms, fused_rows, fused_ssd,
        };
        [
            ("fused_ssd", fused_ssd::fused_ssd_on(), fused_ssd::fused_ssd_calls()),
            (
                "fused_conv",
                fused_conv::fused_conv_on(),
                fused_conv::fused_conv_calls(),
            ),
            (
                "fused_conv_ssd",
                fused_conv_ssd::fused_conv_ssd_on(),
                fused_conv_ssd::fused_conv_ssd_calls(),
            ),
            (
                "fused_proj_conv",
                fused_proj_conv::fused_proj_conv_on(),
                fused_proj_conv::fused_proj_conv_calls(),
            ),
            (
                "fused_norm",
                fused_norm::fused_norm_on(),
                fused_norm::fused_norm_calls(),
            ),
            (
                "fused_rms_norm",
                fused_rms::fused_rms_norm_on(),
                fused_rms::fused_rms_norm_calls(),
            ),
            (
                "fused_embed",
                fused_embed::fused_embed_on(),
                fused_embed::fused_embed_calls(),
            ),
            ("fused_ce", fused_ce::fused_ce_on(), fused_ce::fused_ce_calls()),
            ("fused_dt", fused_dt::fused_dt_on(), fused_dt::fused_dt_calls()),
            // the split in_proj's row blocks as views (on by default since session 27;
            // "calls" counts blocks, three a layer)
            (
                "in_proj_rows",
                fused_rows::in_proj_rows_on(),
                fused_rows::in_proj_rows_calls(),
            ),
            // one-replica linear maps in this project's f32 kernels (models::fused_linear;
            // "calls" counts maps, forward only)
            (
                "fused_linear",
                fused_linear::fused_linear_on(),
                fused_linear::fused_linear_calls(),
            ),
        ]
    };
    #[cfg(not(feature = "cuda"))]
    let fused = [
        "fused_ssd",
        "fused_conv",
        "fused_conv_ssd",
        "fused_proj_conv",
        "fused_norm",
        "fused_rms_norm",
        "fused_embed",
        "fused_ce",
        "fused_dt",
        "in_proj_rows",
        "fused_linear",
    ]
    .map(|k| (k, false, 0usize));
    let split = (
        "split_in_proj",
        models::mamba2::split_in_proj_on(),
        models::mamba2::split_in_proj_calls(),
    );
    // the optimizer's kept parameter row (trainer::step): every backend and dtype
    let kept = (
        "keep_flat_params",
        trainer::step::keep_flat_params_on(),
        trainer::step::keep_flat_params_calls(),
    );
    // the Transformer's last block at the last position alone (models::transformer)
    let last_query = (
        "last_query",
        models::transformer::LAST_QUERY.on(),
        models::transformer::LAST_QUERY.calls(),
    );
    // the last Mamba2 block after its SSD at the last position alone (models::mamba2)
    let last_position = (
        "last_position",
        models::mamba2::LAST_POSITION.on(),
        models::mamba2::LAST_POSITION.calls(),
    );
    // every matmul in f32 on the CUDA cores instead of TF32 on the tensor cores
    // (models::f32_matmul, off by default; the probe's calls count too)
    let f32_matmul = (
        "f32_matmul",
        models::f32_matmul::f32_matmul_on(),
        models::f32_matmul::f32_matmul_calls(),
    );
    // the optimizer's tail in two kernels (models::fused_adam, on by default; "calls" counts
    // updates; it runs on the CubeCL backends in f32 only)
    let fused_adam = (
        "fused_adam",
        models::fused_adam::fused_adam_on(),
        models::fused_adam::fused_adam_calls(),
    );
    // the optimizer's row split into the parameters as views of it at R = 1
    // (models::fused_adam::row_views, on by default since session 27; "calls" counts splits)
    let row_views = (
        "row_views",
        models::fused_adam::row_views_on(),
        models::fused_adam::row_views_calls(),
    );
    // the NaN/Inf guard's step in one kernel (models::fused_guard, on by default since
    // session 27, CubeCL backends in f32; "calls" counts steps)
    let fused_guard = (
        "fused_guard",
        models::fused_guard::fused_guard_on(),
        models::fused_guard::fused_guard_calls(),
    );
    fused
        .into_iter()
        .chain([
            split,
            kept,
            fused_adam,
            row_views,
            fused_guard,
            last_query,
            last_position,
            f32_matmul,
        ])
        .map(|(k, on, calls)| (k.to_string(), serde_json::json!({ "on": on, "calls": calls })))
        .collect()
}

/// What the backend's f32 matmul computes like on `device` ("f32", "tf32" or "bf16", with
/// the measured and emulated errors; models::matmul_probe), one entry per shape of
/// `RUN_SHAPES`, for bench reports and run manifests: whether a run labelled f32 multiplied
/// in f32 is the library's choice, so each run records what it got. A probe that fails is
/// recorded as its error and does not stop the caller. Measured once per device and
/// process (every run segment of a sweep asks): the build, the card and the shapes do not
/// change within a process, and autotune, where built, keeps its choice per shape for it.
pub fn matmul_f32(device: DeviceArg) -> serde_json::Value {
    let known = PROBED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(d, _)| *d == device)
        .map(|(_, v)| v.clone());
    if let Some(v) = known {
        return v;
    }
    let v = probe_f32(device);
    if v.get("error").is_none() {
        PROBED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((device, v.clone()));
    }
    v
}

/// [`matmul_f32`]'s measurements so far in this process, by device.
static PROBED: Mutex<Vec<(DeviceArg, serde_json::Value)>> = Mutex::new(Vec::new());

fn probe_f32(device: DeviceArg) -> serde_json::Value {
    use models::matmul_probe::{RUN_SHAPES, probe_matmul};
    let probes = caught(device, || match device {
        DeviceArg::Cpu => RUN_SHAPES.map(|s| probe_matmul::<CpuBackend>(&Default::default(), s)),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda(i) => {
            RUN_SHAPES.map(|s| probe_matmul::<CudaBackend>(&burn::backend::cuda::CudaDevice { index: i }, s))
        }
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda(_) => unreachable!("refused by require_available"),
    });
    match probes {
        Ok(p) => serde_json::to_value(p).expect("json"),
        Err(e) => serde_json::json!({ "error": e.message }),
    }
}

/// [`matmul_f32`]'s record as one sentence per shape (what `info`, `doctor` and the bench
/// report print), or the probe's error.
pub fn probe_sentences(v: &serde_json::Value) -> Result<Vec<String>, String> {
    if let Some(e) = v["error"].as_str() {
        return Err(e.to_string());
    }
    Ok(v.as_array().into_iter().flatten().map(describe_probe).collect())
}

/// One probe of [`matmul_f32`] as a sentence: "f32 matmul 2048x400x1200 computes like tf32
/// (relative RMS error .. against f64; f32 inputs would give .., TF32 .., bf16 ..)".
fn describe_probe(p: &serde_json::Value) -> String {
    let e = |k: &str| p["expected"][k].as_f64().unwrap_or(f64::NAN);
    let shape = p["shape"].as_array().map_or("?".into(), |d| {
        d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("x")
    });
    format!(
        "f32 matmul {shape} computes like {} (relative RMS error {:.1e} against f64; f32 inputs would give {:.1e}, TF32 {:.1e}, bf16 {:.1e})",
        p["computes_like"].as_str().unwrap_or("?"),
        p["rel_rms_error"].as_f64().unwrap_or(f64::NAN),
        e("f32"),
        e("tf32"),
        e("bf16")
    )
}

/// Refuses `cuda` in a binary built without it, with the command that fixes that.
pub fn require_available(d: DeviceArg) -> Result<(), CliError> {
    if matches!(d, DeviceArg::Cuda(_)) && !CUDA_BUILT {
        return Err(CliError::input(format!(
            "--device {d}: this msym was built without CUDA; build it with `cargo build --release --features cuda`"
        )));
    }
    Ok(())
}

/// The first panic message since the hook of `capturing_panics` was installed.
static FIRST: Mutex<Option<String>> = Mutex::new(None);

/// Runs `f` with a panic hook that keeps the first panic message (for `caught`) instead of
/// printing a backtrace. The hook is process-wide: install it once around all the device
/// threads of a command, not once per thread.
pub fn capturing_panics<T>(f: impl FnOnce() -> T) -> T {
    FIRST.lock().unwrap_or_else(|e| e.into_inner()).take();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        FIRST.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(msg);
    }));
    let result = f();
    std::panic::set_hook(previous);
    result
}

/// Device work inside `capturing_panics`: a panic in the backend (no driver, no such GPU)
/// becomes one sentence instead of a backtrace. Backends panic from their own threads too,
/// so the first panic message anywhere is kept and the rest (follow-on channel errors)
/// dropped; with several device threads it may be another device's message.
pub fn caught<T>(device: DeviceArg, f: impl FnOnce() -> T) -> Result<T, CliError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        let first = FIRST.lock().unwrap_or_else(|e| e.into_inner()).take();
        let cause = explain(first.as_deref().unwrap_or("unknown panic"));
        CliError::failed(format!("device {device} failed: {cause}"))
    })
}

/// `caught` with its own hook, for a command that uses one device.
pub fn guarded<T>(device: DeviceArg, f: impl FnOnce() -> T) -> Result<T, CliError> {
    capturing_panics(|| caught(device, f))
}

fn explain(panic: &str) -> String {
    if panic.contains("Unable to dynamically load the \"cuda\" shared library") {
        return "the CUDA driver library (libcuda.so) was not found; is an NVIDIA driver installed (nvidia-smi)?"
            .into();
    }
    let short: String = panic.chars().take(200).collect();
    if short.len() < panic.len() {
        format!("{short}...")
    } else {
        short
    }
}

/// Trains `cells` on `device` with the backend it names, device errors as one sentence.
/// The outer error is the device's, the inner one the training's.
pub fn train_on(
    device: DeviceArg,
    cells: &[msym_config::ExperimentConfig],
    opts: &trainer::RunOptions,
    on: &mut dyn FnMut(trainer::Event<'_>),
) -> Result<Result<trainer::Outcome, String>, CliError> {
    capturing_panics(|| train_caught(device, cells, opts, on))
}

/// `train_on` for one of several device threads, inside one `capturing_panics`.
pub fn train_caught(
    device: DeviceArg,
    cells: &[msym_config::ExperimentConfig],
    opts: &trainer::RunOptions,
    on: &mut dyn FnMut(trainer::Event<'_>),
) -> Result<Result<trainer::Outcome, String>, CliError> {
    use burn::backend::Autodiff;
    require_available(device)?;
    match device {
        DeviceArg::Cpu => caught(device, || {
            trainer::train::<Autodiff<CpuBackend>>(cells, opts, &Default::default(), on)
        }),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda(i) => caught(device, || {
            trainer::train::<Autodiff<CudaBackend>>(cells, opts, &burn::backend::cuda::CudaDevice { index: i }, on)
        }),
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda(_) => unreachable!("refused by require_available"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        assert_eq!("cpu".parse(), Ok(DeviceArg::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceArg::Cuda(0)));
        assert_eq!("cuda:3".parse(), Ok(DeviceArg::Cuda(3)));
        assert!(
            "gpu"
                .parse::<DeviceArg>()
                .unwrap_err()
                .contains("use cpu, cuda or cuda:N")
        );
        assert!("cuda:x".parse::<DeviceArg>().is_err());
    }

    #[test]
    fn a_panic_in_device_work_becomes_one_sentence() {
        let err = guarded(DeviceArg::Cuda(1), || -> u32 { panic!("no device 1") })
            .err()
            .unwrap();
        assert_eq!(err.message, "device cuda:1 failed: no device 1");
        assert_eq!(guarded(DeviceArg::Cpu, || 7).ok(), Some(7));
    }
}
