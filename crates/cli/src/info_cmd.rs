//! `msym info [--device D]`: versions, the backend, and a small computation on the device
//! checked against its exact answer, so "is my GPU set up" has a one-command answer.

use std::time::Instant;

use burn::tensor::{Tensor, backend::Backend};
use clap::Args;

use crate::backend::{self, CpuBackend, DeviceArg};
use crate::error::CliError;

#[derive(Args)]
pub struct InfoCommand {
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: DeviceArg,
}

pub fn run(c: InfoCommand) -> Result<(), CliError> {
    println!(
        "msym {} (built from commit {}, dirty: {})",
        env!("CARGO_PKG_VERSION"),
        env!("MSYM_BUILD_COMMIT"),
        env!("MSYM_BUILD_DIRTY")
    );
    println!("burn 0.21.0 (pinned), backends: {}", backend::BUILD_FEATURES);
    backend::require_available(c.device)?;
    let start = Instant::now();
    let got = backend::guarded(c.device, || match c.device {
        DeviceArg::Cpu => product::<CpuBackend>(&Default::default()),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda(i) => product::<backend::CudaBackend>(&burn::backend::cuda::CudaDevice { index: i }),
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda(_) => unreachable!("refused by require_available"),
    })?;
    let expected = expected_product();
    let max_err = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!(
        "device {}: 64x64 matmul checked against the exact answer, max error {max_err:.1e} ({:.0} ms with first-use compilation)",
        c.device,
        start.elapsed().as_secs_f64() * 1e3
    );
    if got.len() != expected.len() || max_err > 1e-3 {
        return Err(CliError::failed(format!(
            "device {} computed a wrong matmul (max error {max_err})",
            c.device
        )));
    }
    // what an f32 product is computed in (f32, or TF32 on tensor cores): the library's choice
    let sentences = backend::probe_sentences(&backend::matmul_f32(c.device))
        .map_err(|e| CliError::failed(format!("device {}: the matmul probe failed: {e}", c.device)))?;
    for line in sentences {
        println!("device {}: {line}", c.device);
    }
    Ok(())
}

const N: usize = 64;

/// A[i][j] = (i + 2j) mod 7 - 3 (small integers, so f32 products are exact).
fn a_values() -> Vec<f32> {
    (0..N * N).map(|k| ((k / N + 2 * (k % N)) % 7) as f32 - 3.0).collect()
}

/// A @ A^T on the device, shape [N, N] flattened.
fn product<B: Backend>(device: &B::Device) -> Vec<f32> {
    let a = Tensor::<B, 1>::from_floats(a_values().as_slice(), device).reshape([N, N]);
    let p = a.clone().matmul(a.transpose());
    p.into_data().to_vec::<f32>().expect("f32 data")
}

/// A @ A^T by three loops on the host.
fn expected_product() -> Vec<f32> {
    let a = a_values();
    (0..N * N)
        .map(|k| (0..N).map(|m| a[(k / N) * N + m] * a[(k % N) * N + m]).sum())
        .collect()
}
