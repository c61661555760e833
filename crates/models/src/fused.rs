//! What the fused-kernel dispatches share ([`crate::fused_ssd`], [`crate::fused_conv`]): an
//! on/off switch read once from the environment, a count of the calls that took the kernels,
//! and the cast from a generic backend's tensor to the concrete one its TypeId matched.
//!
//! Why a TypeId dispatch: burn has no specialization, so a backend trait with fused methods
//! would have to bound every generic model and trainer function (about 140 of them). The
//! check costs a few comparisons per layer call; the cast after a matching TypeId cannot fail.

use std::any::Any;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// One kernel pair's switch: off unless set, or unless its environment variable is "1".
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

    pub(crate) fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// t as type U, which the caller's TypeId check says it is.
pub(crate) fn cast<T: 'static, U: 'static>(t: T) -> U {
    *(Box::new(t) as Box<dyn Any>)
        .downcast::<U>()
        .expect("cast after a matching TypeId")
}
