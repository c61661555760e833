//! The Mamba2 block's gated RMSNorm, RMSNorm(y * SiLU(z)) * w, through the fused kernels of
//! crates/kernels where the backend is one they run on ([`crate::fused`] dispatches).
//!
//! **On by default** since its H200 A/B of 2026-11-27 (results/bench/session12-h200-2026-11-27):
//! alone over the plain ops 1.06x at depth 2, R = 36, with the other three paths the step's
//! kernel time 28.3 -> 22.8 ms (predicted 23.5-24.5), 5-epoch losses within 2.1e-7 of the
//! plain ops'. `MSYM_FUSED_NORM=0` or [`set_fused_norm`] turns it off. Tested against the f64
//! definition and its finite differences on lavapipe. The
//! kernels sum the mean over E and the weight's gradient in another order than the plain ops.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_NORM");

/// Turns the fused gated norm on or off for this process (overrides MSYM_FUSED_NORM).
pub fn set_fused_norm(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused gated norm is allowed: [`set_fused_norm`], else MSYM_FUSED_NORM, else on.
pub fn fused_norm_on() -> bool {
    SWITCH.on()
}

/// Gated-norm calls that ran the fused kernels so far in this process.
pub fn fused_norm_calls() -> usize {
    SWITCH.calls()
}

/// y, z: [R, B, L, E], w: [R, E].
struct GatedNorm<'a, B: Backend> {
    y: &'a Tensor<B, 4>,
    z: &'a Tensor<B, 4>,
    w: &'a Tensor<B, 2>,
    eps: f32,
}

impl<B: Backend> FusedOp<B> for GatedNorm<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.y.dtype(), self.z.dtype(), self.w.dtype()]
    }

    /// One cube a token, one unit a channel: E up to MAX_E.
    fn supported(&self) -> bool {
        self.y.dims()[3] <= kernels::gated_norm::MAX_E
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op_norm::gated_norm_autodiff::<R, I, BT, _>(
            cast(self.y.clone()),
            cast(self.z.clone()),
            cast(self.w.clone()),
            self.eps,
        )
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
        kernels::burn_op_norm::gated_norm_inference::<R, I, BT>(
            cast(self.y.clone()),
            cast(self.z.clone()),
            cast(self.w.clone()),
            self.eps,
        )
    }
}

/// RMSNorm(y * SiLU(z)) * w [R, B, L, E] through the kernels, or None where this backend,
/// dtype, width or switch does not allow them (the caller then runs the plain ops).
/// y, z: [R, B, L, E], w: [R, E].
pub(crate) fn try_fused<B: Backend>(
    y: &Tensor<B, 4>,
    z: &Tensor<B, 4>,
    w: &Tensor<B, 2>,
    eps: f64,
) -> Option<Tensor<B, 4>> {
    dispatch(
        &SWITCH,
        &GatedNorm {
            y,
            z,
            w,
            eps: eps as f32,
        },
    )
}
