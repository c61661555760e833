//! The guard's step in one kernel (models::fused_guard) inside real training steps on burn's
//! CubeCL backend over wgpu (lavapipe): four steps of two replicas with it on give the
//! weights of four steps with it off bit for bit, and the kernel ran once a step (its NaN and
//! Inf cases: crates/kernels/tests/guard_wgpu.rs).
//! Built with `cargo test -p trainer --features wgpu --test guard_wgpu` (CI runs it).
#![cfg(feature = "wgpu")]

use models::fused_guard::{fused_guard_calls, set_fused_guard};

mod common;
use common::{compare, require_vulkan, train};

/// The switch is process-wide: both runs in one test.
#[test]
fn the_fused_guard_trains_the_weights_of_the_plain_ops() {
    require_vulkan();
    set_fused_guard(false);
    let plain = train(2, 4);
    assert_eq!(fused_guard_calls(), 0);
    set_fused_guard(true);
    let fused = train(2, 4);
    assert_eq!(fused_guard_calls(), 4, "one guard kernel a step");
    compare(&plain, &fused, 2, 0.0);
}
