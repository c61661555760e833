//! The NaN/Inf guard's step (trainer::guard) through one kernel of crates/kernels
//! (kernels::guard) where the backend is a plain CubeCL one in f32, in place of the plain ops'
//! 21 launches of one or two cubes (is_nan, is_inf, their negations and conjunctions, four
//! mask_where, a fill, a sqrt and a cast; ncu, depth 4, R = 1). Why: at R = 1 a step is bound
//! by the host's work for each launch (results/bench/NOTES.md, sessions 26-27). Every output
//! is a selection or an exactly rounded square root, so the bits are the plain ops'
//! (crates/kernels/tests/guard_wgpu.rs).
//!
//! **On by default** since its H200 A/B (results/bench/session27-h200-2026-11-29, calls 2-3):
//! five epochs of nine fig3 cells with the same metrics bit for bit (`guard-check`), the
//! optimizer's host time a depth-4, R = 1 step 0.56-0.65 -> 0.38-0.46 ms, and with the row
//! blocks below (`r1-ab`, six interleaved pairs) depth 4, R = 1 4.43 -> 4.30 ms (1.03x, faster
//! in 4 of 6 pairs), 288 -> 247 kernels a step. `MSYM_FUSED_GUARD=0` or [`set_fused_guard`]
//! turns it off.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_GUARD");

/// Turns the fused guard on or off for this process (overrides MSYM_FUSED_GUARD).
pub fn set_fused_guard(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused guard is allowed: [`set_fused_guard`], else MSYM_FUSED_GUARD, else on.
pub fn fused_guard_on() -> bool {
    SWITCH.on()
}

/// Guard steps that ran the kernel so far in this process.
pub fn fused_guard_calls() -> usize {
    SWITCH.calls()
}

/// The guard's state: active (1.0 where the replica trains, 0.0 where it stopped), bad_step
/// (-1 while none), bad_loss, bad_lr [R, 1]; bad_norms [R, P].
#[derive(Debug, Clone)]
pub struct GuardRows<B: Backend> {
    pub active: Tensor<B, 2>,
    pub bad_step: Tensor<B, 2>,
    pub bad_loss: Tensor<B, 2>,
    pub bad_lr: Tensor<B, 2>,
    pub bad_norms: Tensor<B, 2>,
}

/// The state after step `step` (loss, lr, norm [R, 1]; squared [R, P]) through the kernel, or
/// None where the switch, the dtypes or the backend do not allow it (the caller then runs the
/// plain ops).
pub fn guard_step<B: Backend>(
    state: &GuardRows<B>,
    loss: &Tensor<B, 2>,
    lr: &Tensor<B, 2>,
    norm: &Tensor<B, 2>,
    squared: &Tensor<B, 2>,
    step: usize,
) -> Option<GuardRows<B>> {
    let all = [
        &state.active,
        &state.bad_step,
        &state.bad_loss,
        &state.bad_lr,
        &state.bad_norms,
        loss,
        lr,
        norm,
        squared,
    ];
    if !SWITCH.on() || all.iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    #[cfg(feature = "cubecl")]
    {
        let y = imp::step(state, [loss, lr, norm, squared], step);
        if y.is_some() {
            SWITCH.count();
        }
        y
    }
    #[cfg(not(feature = "cubecl"))]
    {
        let _ = step;
        None
    }
}

#[cfg(feature = "cubecl")]
mod imp {
    use std::any::TypeId;

    use burn::tensor::Tensor;
    use burn::tensor::backend::Backend;
    use burn_cubecl::CubeRuntime;
    use burn_cubecl::element::{BoolElement, IntElement};
    use kernels::burn_op_guard::{GuardTensors, guard_step_tensors};

    use super::GuardRows;
    use crate::fused::{Plain, cast};

    pub(super) fn step<B: Backend>(
        state: &GuardRows<B>,
        seen: [&Tensor<B, 2>; 4],
        step: usize,
    ) -> Option<GuardRows<B>> {
        fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>(
            state: &GuardRows<B>,
            [loss, lr, norm, squared]: [&Tensor<B, 2>; 4],
            step: usize,
        ) -> Option<GuardRows<B>> {
            if TypeId::of::<B>() != TypeId::of::<Plain<R, I, BT>>() {
                return None;
            }
            let s = GuardTensors::<R, I, BT> {
                active: cast(state.active.clone()),
                bad_step: cast(state.bad_step.clone()),
                bad_loss: cast(state.bad_loss.clone()),
                bad_lr: cast(state.bad_lr.clone()),
                bad_norms: cast(state.bad_norms.clone()),
            };
            let [loss, lr, norm, squared] = [loss, lr, norm, squared].map(|t| cast(t.clone()));
            let out = guard_step_tensors(s, loss, lr, norm, squared, step);
            Some(GuardRows {
                active: cast(out.active),
                bad_step: cast(out.bad_step),
                bad_loss: cast(out.bad_loss),
                bad_lr: cast(out.bad_lr),
                bad_norms: cast(out.bad_norms),
            })
        }
        let mut y = None;
        #[cfg(feature = "cuda")]
        {
            y = y.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8>(state, seen, step));
        }
        #[cfg(feature = "wgpu")]
        {
            y = y.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32>(state, seen, step));
        }
        y
    }
}
