//! The fused optimizer tail (models::fused_adam: the gradients gathered into one row and the
//! clipped AdamW update, one kernel each) inside real training steps, on burn's CubeCL backend
//! over wgpu (lavapipe, scripts/setup-vulkan.sh): four steps of two replicas with it on give
//! the weights of four steps with it off, to f32 rounding, and the kernel ran once a step.
//! Built with `cargo test -p trainer --features wgpu --test adam_wgpu` (CI runs it).
#![cfg(feature = "wgpu")]

use models::fused_adam::{fused_adam_calls, set_fused_adam};

mod common;
use common::{compare, require_vulkan, train};

/// The switch is process-wide: both runs in one test.
#[test]
fn the_fused_tail_trains_the_weights_of_the_plain_ops() {
    require_vulkan();
    set_fused_adam(false);
    let plain = train(2, 4);
    assert_eq!(fused_adam_calls(), 0);
    set_fused_adam(true);
    let fused = train(2, 4);
    assert_eq!(fused_adam_calls(), 4, "one fused update a step");
    compare(&plain, &fused, 2, 1e-6);
}
