//! Process-wide switches for the speed paths: the fused kernels (`fused_ssd`, `fused_conv`,
//! `fused_norm`) and the split in_proj (`mamba2::split_in_proj`). Each is read once from its environment
//! variable: "1" turns it on, "0" off, and unset leaves it to the default.
//!
//! The default is on since the H200 A/B of 2026-11-26 (results/bench/checks-h200-2026-11-26):
//! each path was faster at R = 9-36 and its 5-epoch losses matched the plain ops' to 2.1e-7.
//! They take effect only where they were measured, f32 on a CubeCL backend (CUDA, or wgpu in
//! the tests); the CPU backend and bf16 keep the plain ops whatever the switch says, except
//! the split in_proj, which a test may force on any backend with `set`. A path not yet
//! measured on a GPU is off by default ([`Switch::off_by_default`]) until its A/B adopts it,
//! as `fused_norm` was until its H200 A/B of 2026-11-27.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use burn::tensor::backend::Backend;

/// One switch: its setting ([`Switch::set`], else its environment variable, else the
/// default) and how many layer calls took the path.
#[derive(Debug)]
pub struct Switch {
    env: &'static str,
    /// 0: not read yet (read `env`), 1: off, 2: on, 3: left to the default.
    state: AtomicU8,
    calls: AtomicUsize,
    /// What "left to the default" means.
    default: bool,
}

impl Switch {
    /// A switch that is on unless set off.
    pub const fn new(env: &'static str) -> Self {
        Self {
            env,
            state: AtomicU8::new(0),
            calls: AtomicUsize::new(0),
            default: true,
        }
    }

    /// A switch that is off unless set on: a path not yet measured on a GPU.
    pub const fn off_by_default(env: &'static str) -> Self {
        Self {
            default: false,
            ..Self::new(env)
        }
    }

    /// Turns the path on or off for this process (overrides the environment).
    pub fn set(&self, on: bool) {
        self.state.store(if on { 2 } else { 1 }, Ordering::Relaxed);
    }

    /// Some(on) where set or where the environment variable is "1" or "0"; None where left
    /// to the default. Every layer of every step asks: after the first call this is one
    /// atomic load.
    pub fn setting(&self) -> Option<bool> {
        let mut s = self.state.load(Ordering::Relaxed);
        if s == 0 {
            s = match std::env::var(self.env).as_deref() {
                Ok("1") => 2,
                Ok("0") => 1,
                _ => 3,
            };
            self.state.store(s, Ordering::Relaxed);
        }
        match s {
            2 => Some(true),
            1 => Some(false),
            _ => None,
        }
    }

    /// Whether the path is allowed: its setting, else its default. The caller still
    /// checks that the backend and dtypes are ones the path runs on.
    pub fn on(&self) -> bool {
        self.setting().unwrap_or(self.default)
    }

    /// Calls that took the path so far in this process.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether B is one of the CubeCL backends of this build (with or without autodiff), where
/// the speed paths' defaults hold; false in a build without CubeCL.
#[cfg_attr(not(feature = "cubecl"), allow(clippy::extra_unused_type_parameters))] // no CubeCL: never
pub(crate) fn on_cubecl<B: Backend>() -> bool {
    #[cfg(feature = "cubecl")]
    {
        crate::fused::cubecl_backend::<B>()
    }
    #[cfg(not(feature = "cubecl"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_sets_a_switch_and_unset_leaves_the_default() {
        // one variable per case: the process environment is shared by the tests
        let cases = [
            ("MSYM_SWITCH_TEST_ON", Some("1"), Some(true)),
            ("MSYM_SWITCH_TEST_OFF", Some("0"), Some(false)),
            ("MSYM_SWITCH_TEST_UNSET", None, None),
            ("MSYM_SWITCH_TEST_OTHER", Some("yes"), None),
        ];
        for (env, value, want) in cases {
            if let Some(v) = value {
                // SAFETY: each case has its own variable, which no other test reads
                unsafe { std::env::set_var(env, v) };
            }
            let s = Switch::new(env);
            assert_eq!(s.setting(), want, "{env}={value:?}");
            assert_eq!(s.on(), want.unwrap_or(true), "{env}={value:?}");
            s.set(false);
            assert_eq!((s.setting(), s.on()), (Some(false), false), "set overrides {env}");
        }
        let off = Switch::off_by_default("MSYM_SWITCH_TEST_UNSET_OFF");
        assert_eq!((off.setting(), off.on()), (None, false));
        off.set(true);
        assert!(off.on(), "set overrides the default");
    }
}
