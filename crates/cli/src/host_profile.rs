//! MSYM_HOST_PROFILE=DIR: a sampling profile of the host (pprof-rs, 1000 samples a second of
//! CPU time, every thread) over each of `msym bench`'s timed step loops, written as folded
//! stacks (`thread;outermost;..;innermost COUNT` a line, flamegraph.pl's and
//! scripts/host_profile_summary.py's input) to DIR/host-d{depth}-r{R}-{precision}.folded.
//! Why: at R = 1 the step is bound by the host (the bench's host_ms add up to the step), and
//! counting kernels did not predict where that time goes (results/bench/NOTES.md, session 16).
//! Only in a build with the `host-profile` feature; elsewhere a set variable is refused at
//! start ([`check_env`]).

use std::any::Any;

const VAR: &str = "MSYM_HOST_PROFILE";

/// At start: a set MSYM_HOST_PROFILE needs the profiler in this build and a folder it can
/// write; the error is one sentence naming the variable and the value.
pub fn check_env() -> Result<(), String> {
    let Some(dir) = std::env::var_os(VAR) else {
        return Ok(());
    };
    if !cfg!(feature = "host-profile") {
        return Err(format!(
            "{VAR}={dir:?}: this msym has no host profiler; build it with `--features host-profile` or unset {VAR}"
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{VAR}={dir:?}: cannot create that folder: {e}"))
}

/// A profiler over the timed steps tagged `tag`, where MSYM_HOST_PROFILE is set (None
/// otherwise); dropping it writes the folded stacks.
pub fn start(tag: &str) -> Option<Box<dyn Any>> {
    let dir = std::env::var_os(VAR)?;
    #[cfg(feature = "host-profile")]
    {
        let path = std::path::Path::new(&dir).join(format!("host-{tag}.folded"));
        match pprof::ProfilerGuardBuilder::default()
            .frequency(1000)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
        {
            Ok(guard) => Some(Box::new(imp::Running {
                guard,
                path,
                cpu0: imp::process_cpu_s(),
                wall0: std::time::Instant::now(),
            })),
            Err(e) => {
                eprintln!("{VAR}: the host profiler did not start ({e}); timing without it");
                None
            }
        }
    }
    #[cfg(not(feature = "host-profile"))]
    {
        let _ = (dir, tag); // refused at start by check_env
        None
    }
}

#[cfg(feature = "host-profile")]
mod imp {
    use std::fmt::Write as _;
    use std::path::PathBuf;

    pub(super) struct Running {
        pub(super) guard: pprof::ProfilerGuard<'static>,
        pub(super) path: PathBuf,
        pub(super) cpu0: f64,
        pub(super) wall0: std::time::Instant,
    }

    /// User + system CPU seconds of the whole process (every thread) so far.
    pub(super) fn process_cpu_s() -> f64 {
        // SAFETY: getrusage writes one rusage into the zeroed struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
            return f64::NAN;
        }
        let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        s(u.ru_utime) + s(u.ru_stime)
    }

    impl Drop for Running {
        fn drop(&mut self) {
            // CPU time against wall time: a host that is busy for the whole loop uses about
            // one CPU second a second on its main thread; much less means it waits
            let (cpu, wall) = (process_cpu_s() - self.cpu0, self.wall0.elapsed().as_secs_f64());
            let written = self
                .guard
                .report()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|report| {
                    let mut text = String::new();
                    for (frames, count) in &report.data {
                        text.push_str(&frames.thread_name_or_id());
                        // frames[0] is the innermost call: folded stacks start at the outermost
                        for frame in frames.frames.iter().rev() {
                            for symbol in frame.iter().rev() {
                                let _ = write!(text, ";{symbol}");
                            }
                        }
                        let _ = writeln!(text, " {count}");
                    }
                    // whole or not at all: a partial file would read as a smaller profile
                    let tmp = self.path.with_extension("folded.tmp");
                    std::fs::write(&tmp, text)
                        .and_then(|()| std::fs::rename(&tmp, &self.path))
                        .map_err(|e| e.to_string())
                });
            match written {
                Ok(()) => eprintln!(
                    "host profile: wrote {} (the process used {cpu:.2} s of CPU in {wall:.2} s of the timed loop)",
                    self.path.display()
                ),
                Err(e) => eprintln!("host profile: {} not written: {e}", self.path.display()),
            }
        }
    }
}
