//! The Mamba2 block's input RMSNorm (and the final norm), RMSNorm(x) * w, through the gated
//! norm's kernels without the gate (crates/kernels, `NormShape::gated` false) where the
//! backend is one they run on ([`crate::fused`] dispatches).
//!
//! **Off by default** until a GPU A/B adopts it (`MSYM_FUSED_RMSNORM=1` or
//! [`set_fused_rms_norm`] turns it on): tested against the f64 definition and its finite
//! differences on lavapipe, not yet measured on a GPU. Predicted (results/bench/NOTES.md,
//! the twelfth session): the input norm's ~30 kernels a layer backward (about 1.1 ms at
//! depth 2, R = 36 on an H200) and ~7 forward become one kernel each, 22.8 -> about 21 ms a
//! step there. The kernels sum the mean over D and the weight's gradient in another order
//! than the plain ops.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::off_by_default("MSYM_FUSED_RMSNORM");

/// Turns the fused RMSNorm on or off for this process (overrides MSYM_FUSED_RMSNORM).
pub fn set_fused_rms_norm(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused RMSNorm is allowed: [`set_fused_rms_norm`], else MSYM_FUSED_RMSNORM,
/// else off.
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
