//! Peak memory of the process. On the CPU the model lives in resident memory, read from
//! /proc/self/status (VmHWM: the high-water mark of the resident set) with the memory
//! still available from /proc/meminfo. burn 0.21 gives no device-memory counter through
//! its Backend trait, so on a GPU the probe says so instead of guessing.

/// Where the profile reads peak memory from.
#[derive(Debug, Clone)]
pub enum MemoryProbe {
    /// The process's resident memory (CPU backends).
    Resident,
    /// Not measurable on this device; the reason is printed.
    Unavailable(String),
}

/// A reading in bytes: the peak so far and what the machine could still give.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub peak: u64,
    pub available: u64,
}

/// "VmHWM:   123456 kB" -> bytes.
fn kb_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

impl MemoryProbe {
    pub fn read(&self) -> Result<Reading, String> {
        match self {
            MemoryProbe::Unavailable(why) => Err(why.clone()),
            MemoryProbe::Resident => {
                let status = std::fs::read_to_string("/proc/self/status")
                    .map_err(|e| format!("cannot read /proc/self/status ({e})"))?;
                let meminfo =
                    std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("cannot read /proc/meminfo ({e})"))?;
                Ok(Reading {
                    peak: kb_field(&status, "VmHWM:").ok_or("no VmHWM line in /proc/self/status")?,
                    available: kb_field(&meminfo, "MemAvailable:").ok_or("no MemAvailable line in /proc/meminfo")?,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kilobyte_fields_parse() {
        let text = "Name:\tmsym\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(kb_field(text, "VmHWM:"), Some(2048 * 1024));
        assert_eq!(kb_field(text, "VmPeak:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_resident_peak_is_read_on_linux() {
        let r = MemoryProbe::Resident.read().unwrap();
        assert!(r.peak > 1 << 20 && r.available > 0, "{r:?}");
    }
}
