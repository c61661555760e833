//! The SSD through the fused kernels of crates/kernels, where the backend is one they run on:
//! `Autodiff<CubeBackend<R, f32, ..>>` for training, `CubeBackend` itself for evaluation, with
//! R = CUDA (feature `cuda`) or wgpu (feature `wgpu`, for the tests on lavapipe).
//!
//! Off unless asked (`MSYM_FUSED_SSD=1`, or [`set_fused_ssd`]): the kernels sum in another
//! order than the plain ops, so runs resumed from the plain path keep it. On an H200 they
//! train the same (5 epochs, losses within 2.1e-7) but are no faster at R = 9 or 36
//! (results/bench/NOTES.md, eighth session).

use std::any::TypeId;

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::cast;
use crate::ssd::SsdInputs;
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_SSD");

/// Turns the fused SSD on or off for this process (overrides MSYM_FUSED_SSD).
pub fn set_fused_ssd(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused SSD is on: [`set_fused_ssd`], else MSYM_FUSED_SSD=1.
pub fn fused_ssd_on() -> bool {
    SWITCH.on()
}

/// SSD calls that ran the fused kernels so far in this process.
pub fn fused_ssd_calls() -> usize {
    SWITCH.calls()
}

/// y [R, B, L, E] through the kernels, or None where this backend, dtype or switch does not
/// allow them (the caller then runs the plain ops). The kernels read x, B and C in place from
/// `xbc` [R, B, L, E + 2N], the tensor `inp.x`, `inp.b` and `inp.c` were sliced from; of `inp`
/// they take dt, A and D (and E from x's shape).
pub(crate) fn try_fused<B: Backend>(xbc: &Tensor<B, 4>, inp: &SsdInputs<B>) -> Option<Tensor<B, 4>> {
    // every layer of every step passes here: with the switch off (the default) that is one
    // atomic load, before any tensor is looked at
    if !fused_ssd_on() {
        return None;
    }
    let dtypes = [xbc.dtype(), inp.dt.dtype(), inp.a.dtype(), inp.d.dtype()];
    if dtypes.iter().any(|d| *d != DType::F32) {
        return None;
    }
    let e = inp.x.dims()[3];
    let mut y = None;
    #[cfg(feature = "cuda")]
    {
        y = y.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8>(xbc, inp, e));
    }
    #[cfg(feature = "wgpu")]
    {
        y = y.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32>(xbc, inp, e));
    }
    if y.is_some() {
        SWITCH.count();
    }
    y
}

/// The kernels on runtime R, if B is R's autodiff or plain CubeCL backend.
fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>(
    xbc: &Tensor<B, 4>,
    inp: &SsdInputs<B>,
    e: usize,
) -> Option<Tensor<B, 4>> {
    type Plain<R, I, BT> = CubeBackend<R, f32, I, BT>;
    type Ad<R, I, BT> = Autodiff<Plain<R, I, BT>>;
    if TypeId::of::<B>() == TypeId::of::<Ad<R, I, BT>>() {
        return Some(cast(kernels::burn_op::ssd_autodiff::<R, I, BT, _>(
            cast::<_, Tensor<Ad<R, I, BT>, 4>>(xbc.clone()),
            cast(inp.dt.clone()),
            cast(inp.a.clone()),
            cast(inp.d.clone()),
            e,
        )));
    }
    if TypeId::of::<B>() == TypeId::of::<Plain<R, I, BT>>() {
        return Some(cast(kernels::burn_op::ssd_inference::<R, I, BT>(
            cast::<_, Tensor<Plain<R, I, BT>, 4>>(xbc.clone()),
            cast(inp.dt.clone()),
            cast(inp.a.clone()),
            cast(inp.d.clone()),
            e,
        )));
    }
    None
}
