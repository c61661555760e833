//! `msym sweep --devices 0,1`: the devices of one host that a sweep spreads its shape groups
//! over, one worker thread each. Entries are GPU indices (`0`, or `cuda:0`) or `cpu`, and any
//! entry may repeat: `0,0` puts two workers on GPU 0. Each worker thread launches on its own
//! CUDA stream (CubeCL keys streams by thread), so two groups of few replicas overlap a
//! little on one card (1.18x on an H200, results/bench/NOTES.md).

use std::str::FromStr;

use crate::backend::{CUDA_BUILT, DeviceArg};
use crate::error::CliError;

/// The parsed list, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices(pub Vec<DeviceArg>);

impl FromStr for Devices {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut list = Vec::new();
        for part in s.split(',').map(str::trim) {
            let d = match part.parse::<usize>() {
                Ok(i) => DeviceArg::Cuda(i),
                Err(_) => part.parse::<DeviceArg>().map_err(|_| {
                    format!("'{part}' in --devices is not a device; list GPU indices (0,1), cuda:N or cpu")
                })?,
            };
            list.push(d);
        }
        Ok(Devices(list))
    }
}

impl std::fmt::Display for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<String> = self.0.iter().map(|d| d.to_string()).collect();
        f.write_str(&list.join(","))
    }
}

impl Devices {
    /// Refuses GPUs in a binary built without CUDA, naming what it can do instead.
    pub fn check_built(&self) -> Result<(), CliError> {
        if !CUDA_BUILT && self.0.iter().any(|d| matches!(d, DeviceArg::Cuda(_))) {
            return Err(CliError::input(format!(
                "--devices {self}: this msym was built without CUDA, so it can only spread a sweep over CPU workers (--devices cpu,cpu); build it with `cargo build --release --features cuda` for GPUs"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_names_and_repeats_parse_other_words_do_not() {
        assert_eq!("0,1".parse(), Ok(Devices(vec![DeviceArg::Cuda(0), DeviceArg::Cuda(1)])));
        assert_eq!(
            "cuda:2, cpu,cpu".parse(),
            Ok(Devices(vec![DeviceArg::Cuda(2), DeviceArg::Cpu, DeviceArg::Cpu]))
        );
        assert_eq!(
            "0,cuda:0,1".parse(),
            Ok(Devices(vec![
                DeviceArg::Cuda(0),
                DeviceArg::Cuda(0),
                DeviceArg::Cuda(1)
            ]))
        );
        assert!(
            "0,gpu"
                .parse::<Devices>()
                .unwrap_err()
                .contains("'gpu' in --devices is not a device")
        );
        let cpus: Devices = "cpu,cpu".parse().unwrap();
        assert!(cpus.check_built().is_ok());
        let gpus: Devices = "0,1".parse().unwrap();
        assert_eq!(gpus.check_built().is_err(), !CUDA_BUILT);
    }
}
