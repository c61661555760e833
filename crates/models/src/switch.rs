//! Process-wide on/off switches for the speed paths that stay off until a GPU A/B adopts
//! them: the fused kernels (`fused_ssd`, `fused_conv`) and the split in_proj
//! (`mamba2::split_in_proj`). Each is read once from its environment variable.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// One switch: off unless set, or unless its environment variable is "1".
#[derive(Debug)]
pub struct Switch {
    env: &'static str,
    /// 0: not read yet (read `env`), 1: off, 2: on.
    state: AtomicU8,
    calls: AtomicUsize,
}

impl Switch {
    pub const fn new(env: &'static str) -> Self {
        Self {
            env,
            state: AtomicU8::new(0),
            calls: AtomicUsize::new(0),
        }
    }

    /// Turns the kernels on or off for this process (overrides the environment).
    pub fn set(&self, on: bool) {
        self.state.store(if on { 2 } else { 1 }, Ordering::Relaxed);
    }

    /// Whether the kernels are on. Every layer of every step asks: after the first call this
    /// is one atomic load.
    pub fn on(&self) -> bool {
        match self.state.load(Ordering::Relaxed) {
            0 => {
                let on = std::env::var(self.env).is_ok_and(|v| v == "1");
                self.set(on);
                on
            }
            s => s == 2,
        }
    }

    /// Calls that ran the kernels so far in this process.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}
