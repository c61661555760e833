//! The Mamba2 block's input RMSNorm (and the final norm), RMSNorm(x) * w, through the gated
//! norm's kernels without the gate (crates/kernels, `NormShape::gated` false) where the
//! backend is one they run on ([`crate::fused`] dispatches).
//!
//! **On by default** since its H200 A/B of 2026-11-27 (results/bench/session13-h200-2026-11-27:
//! 1.04x at depth 2, R = 9 against the same binary with it off, the other paths on; with the
//! embedding too, the step's kernel time at depth 2, R = 36 fell from 22.8 to 19.7 ms).
//! `MSYM_FUSED_RMSNORM=0` or [`set_fused_rms_norm`] turns it off. Tested against the f64
//! definition and its finite differences on lavapipe. The kernels sum the mean over D and
//! the weight's gradient in another order than the plain ops, so the bits differ from the
//! plain ops' (5-epoch losses within 3.1e-6 relative on the H200).

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_RMSNORM");

/// Turns the fused RMSNorm on or off for this process (overrides MSYM_FUSED_RMSNORM).
pub fn set_fused_rms_norm(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused RMSNorm is allowed: [`set_fused_rms_norm`], else MSYM_FUSED_RMSNORM,
/// else on.
pub fn fused_rms_norm_on() -> bool {
    SWITCH.on()
}

/// RMSNorm calls that ran the fused kernels so far in this process.
pub fn fused_rms_norm_calls() -> usize {
    SWITCH.calls()
}

/// x: [R, B, L, D], w: [R, D].
struct RmsNorm<'a, B: Backend> {
    x: &'a Tensor<B, 4>,
    w: &'a Tensor<B, 2>,
    eps: f32,
}

impl<B: Backend> FusedOp<B> for RmsNorm<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.x.dtype(), self.w.dtype()]
    }

    /// One cube a token group, one unit a channel: D up to MAX_E.
    fn supported(&self) -> bool {
        self.x.dims()[3] <= kernels::gated_norm::MAX_E
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op_norm::rms_norm_autodiff::<R, I, BT, _>(cast(self.x.clone()), cast(self.w.clone()), self.eps)
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
        kernels::burn_op_norm::rms_norm_inference::<R, I, BT>(cast(self.x.clone()), cast(self.w.clone()), self.eps)
    }
}

/// RMSNorm(x) * w [R, B, L, D] through the kernels, or None where this backend, dtype,
/// width or switch does not allow them (the caller then runs the plain ops).
/// x: [R, B, L, D], w: [R, D].
pub(crate) fn try_fused<B: Backend>(x: &Tensor<B, 4>, w: &Tensor<B, 2>, eps: f64) -> Option<Tensor<B, 4>> {
    dispatch(&SWITCH, &RmsNorm { x, w, eps: eps as f32 })
}
