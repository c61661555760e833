//! The Mamba2 conv stage, SiLU(causal depthwise conv + bias), through the fused kernels of
//! crates/kernels where the backend is one they run on (as [`crate::fused_ssd`] for the SSD:
//! CubeCL's own backend, with or without autodiff, over CUDA or, for the tests, wgpu).
//!
//! Off unless asked (`MSYM_FUSED_CONV=1`, or [`set_fused_conv`]): the kernels sum the tap
//! gradients in another order than the plain ops, so a run resumed from the plain path keeps
//! it until a GPU A/B has shown the kernels are faster and train the same.

use std::any::TypeId;

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::cast;
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_CONV");

/// Turns the fused conv on or off for this process (overrides MSYM_FUSED_CONV).
pub fn set_fused_conv(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused conv is on: [`set_fused_conv`], else MSYM_FUSED_CONV=1.
pub fn fused_conv_on() -> bool {
    SWITCH.on()
}

/// Conv calls that ran the fused kernels so far in this process.
pub fn fused_conv_calls() -> usize {
    SWITCH.calls()
}

/// SiLU(conv(x) + bias) [R, B, L, C] through the kernels, or None where this backend, dtype or
/// switch does not allow them (the caller then runs the plain ops).
/// x: [R, B, L, C], w: [R, C, K], bias: [R, C].
pub(crate) fn try_fused<B: Backend>(x: &Tensor<B, 4>, w: &Tensor<B, 3>, bias: &Tensor<B, 2>) -> Option<Tensor<B, 4>> {
    if !SWITCH.on() {
        return None; // the default: one atomic load per layer call
    }
    if [x.dtype(), w.dtype(), bias.dtype()].iter().any(|d| *d != DType::F32) {
        return None;
    }
    let mut out = None;
    #[cfg(feature = "cuda")]
    {
        out = out.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8>(x, w, bias));
    }
    #[cfg(feature = "wgpu")]
    {
        out = out.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32>(x, w, bias));
    }
    if out.is_some() {
        SWITCH.count();
    }
    out
}

/// The kernels on runtime R, if B is R's autodiff or plain CubeCL backend.
fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: &Tensor<B, 4>,
    w: &Tensor<B, 3>,
    bias: &Tensor<B, 2>,
) -> Option<Tensor<B, 4>> {
    type Plain<R, I, BT> = CubeBackend<R, f32, I, BT>;
    type Ad<R, I, BT> = Autodiff<Plain<R, I, BT>>;
    if TypeId::of::<B>() == TypeId::of::<Ad<R, I, BT>>() {
        return Some(cast(kernels::burn_op_conv::conv_silu_autodiff::<R, I, BT, _>(
            cast::<_, Tensor<Ad<R, I, BT>, 4>>(x.clone()),
            cast(w.clone()),
            cast(bias.clone()),
        )));
    }
    if TypeId::of::<B>() == TypeId::of::<Plain<R, I, BT>>() {
        return Some(cast(kernels::burn_op_conv::conv_silu_inference::<R, I, BT>(
            cast::<_, Tensor<Plain<R, I, BT>, 4>>(x.clone()),
            cast(w.clone()),
            cast(bias.clone()),
        )));
    }
    None
}
