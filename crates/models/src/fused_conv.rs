//! The Mamba2 conv stage, SiLU(causal depthwise conv + bias), through the fused kernels of
//! crates/kernels where the backend is one they run on (CubeCL's own backend, with or without
//! autodiff, over CUDA or, for the tests, wgpu; [`crate::fused`] dispatches).
//!
//! On by default ([`crate::switch`]; `MSYM_FUSED_CONV=0` or [`set_fused_conv`] turns it
//! off): on an H200 it was 1.78x at R = 9 and 1.86x at R = 36, and its 5-epoch losses
//! matched the plain ops' to 2.1e-7 (results/bench/checks-h200-2026-11-26). The kernels sum
//! the tap gradients in another order than the plain ops.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_CONV");

/// Turns the fused conv on or off for this process (overrides MSYM_FUSED_CONV).
pub fn set_fused_conv(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused conv is allowed: [`set_fused_conv`], else MSYM_FUSED_CONV, else on.
pub fn fused_conv_on() -> bool {
    SWITCH.on()
}

/// Conv calls that ran the fused kernels so far in this process.
pub fn fused_conv_calls() -> usize {
    SWITCH.calls()
}

/// x: [R, B, L, C] or the same tokens as [R, A, T, C] (sequences of `len`), w: [R, C, K],
/// bias: [R, C].
struct ConvSilu<'a, B: Backend> {
    x: &'a Tensor<B, 4>,
    len: usize,
    w: &'a Tensor<B, 3>,
    bias: &'a Tensor<B, 2>,
}

impl<B: Backend> FusedOp<B> for ConvSilu<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.x.dtype(), self.w.dtype(), self.bias.dtype()]
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op_conv::conv_silu_autodiff::<R, I, BT, _>(
            cast(self.x.clone()),
            self.len,
            cast(self.w.clone()),
            cast(self.bias.clone()),
        )
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
        kernels::burn_op_conv::conv_silu_inference::<R, I, BT>(
            cast(self.x.clone()),
            self.len,
            cast(self.w.clone()),
            cast(self.bias.clone()),
        )
    }
}

/// SiLU(conv(x) + bias) [R, B, L, C] through the kernels, or None where this backend, dtype or
/// switch does not allow them (the caller then runs the plain ops).
/// x: [R, B, L, C] or the same tokens as [R, A, T, C] (sequences of `len` tokens),
/// w: [R, C, K], bias: [R, C].
pub(crate) fn try_fused<B: Backend>(
    x: &Tensor<B, 4>,
    len: usize,
    w: &Tensor<B, 3>,
    bias: &Tensor<B, 2>,
) -> Option<Tensor<B, 4>> {
    dispatch(&SWITCH, &ConvSilu { x, len, w, bias })
}
