//! Backend selection. The CPU (ndarray) backend is always built; CUDA only with the `cuda`
//! cargo feature, so a plain `cargo build` needs no GPU toolchain.

use std::str::FromStr;

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

/// Refuses `cuda` in a binary built without it, with the command that fixes that.
pub fn require_available(d: DeviceArg) -> Result<(), CliError> {
    if matches!(d, DeviceArg::Cuda(_)) && !CUDA_BUILT {
        return Err(CliError::input(format!(
            "--device {d}: this msym was built without CUDA; build it with `cargo build --release --features cuda`"
        )));
    }
    Ok(())
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
}
