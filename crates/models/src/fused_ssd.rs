//! The SSD through the fused kernels of crates/kernels, where the backend is one they run on:
//! `Autodiff<CubeBackend<R, f32, ..>>` for training, `CubeBackend` itself for evaluation, with
//! R = CUDA (feature `cuda`) or wgpu (feature `wgpu`, for the tests on lavapipe).
//!
//! Why a TypeId dispatch: burn has no specialization, so a backend trait with a fused method
//! would have to bound every generic model and trainer function (about 140 of them). The
//! check here costs a few comparisons per layer call; the cast after a matching TypeId cannot
//! fail.
//!
//! Off unless asked (`MSYM_FUSED_SSD=1`, or [`set_fused_ssd`]): the kernels sum in another
//! order than the plain ops, so runs resumed from the plain path keep it until a GPU A/B has
//! shown the fused one is faster and trains the same (results/bench/NOTES.md).

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::ssd::SsdInputs;

/// 0: not read yet (read MSYM_FUSED_SSD), 1: off, 2: on.
static SWITCH: AtomicU8 = AtomicU8::new(0);
/// How many SSD calls took the fused kernels (for tests and for `bench` to report).
static CALLS: AtomicUsize = AtomicUsize::new(0);

/// Turns the fused SSD on or off for this process (overrides MSYM_FUSED_SSD).
pub fn set_fused_ssd(on: bool) {
    SWITCH.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

/// Whether the fused SSD is on: [`set_fused_ssd`], else MSYM_FUSED_SSD=1.
pub fn fused_ssd_on() -> bool {
    match SWITCH.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var("MSYM_FUSED_SSD").is_ok_and(|v| v == "1");
            set_fused_ssd(on);
            on
        }
        s => s == 2,
    }
}

/// SSD calls that ran the fused kernels so far in this process.
pub fn fused_ssd_calls() -> usize {
    CALLS.load(Ordering::Relaxed)
}

fn cast<T: 'static, U: 'static>(t: T) -> U {
    *(Box::new(t) as Box<dyn Any>)
        .downcast::<U>()
        .expect("cast after a matching TypeId")
}

/// y [R, B, L, E] through the kernels, or None where this backend, dtype or switch does not
/// allow them (the caller then runs the plain ops).
pub(crate) fn try_fused<B: Backend>(inp: &SsdInputs<B>) -> Option<Tensor<B, 4>> {
    // every layer of every step passes here: with the switch off (the default) that is one
    // atomic load, before any tensor is looked at
    if !fused_ssd_on() {
        return None;
    }
    let dtypes = [
        inp.x.dtype(),
        inp.dt.dtype(),
        inp.a.dtype(),
        inp.b.dtype(),
        inp.c.dtype(),
        inp.d.dtype(),
    ];
    if dtypes.iter().any(|d| *d != DType::F32) {
        return None;
    }
    let mut y = None;
    #[cfg(feature = "cuda")]
    {
        y = y.or_else(|| on::<B, cubecl::cuda::CudaRuntime, i32, u8>(inp));
    }
    #[cfg(feature = "wgpu")]
    {
        y = y.or_else(|| on::<B, cubecl::wgpu::WgpuRuntime, i32, u32>(inp));
    }
    if y.is_some() {
        CALLS.fetch_add(1, Ordering::Relaxed);
    }
    y
}

/// The same inputs as tensors of backend T (B is T, checked by the caller's TypeId).
fn cast_inputs<B: Backend, T: Backend>(i: SsdInputs<B>) -> SsdInputs<T> {
    SsdInputs {
        x: cast(i.x),
        dt: cast(i.dt),
        a: cast(i.a),
        b: cast(i.b),
        c: cast(i.c),
        d: cast(i.d),
    }
}

/// The kernels on runtime R, if B is R's autodiff or plain CubeCL backend.
fn on<B: Backend, R: CubeRuntime, I: IntElement, BT: BoolElement>(inp: &SsdInputs<B>) -> Option<Tensor<B, 4>> {
    type Plain<R, I, BT> = CubeBackend<R, f32, I, BT>;
    if TypeId::of::<B>() == TypeId::of::<Autodiff<Plain<R, I, BT>>>() {
        let i = cast_inputs::<B, Autodiff<Plain<R, I, BT>>>(inp.clone());
        return Some(cast(kernels::burn_op::ssd_autodiff::<R, I, BT, _>(
            i.x, i.dt, i.a, i.b, i.c, i.d,
        )));
    }
    if TypeId::of::<B>() == TypeId::of::<Plain<R, I, BT>>() {
        let i = cast_inputs::<B, Plain<R, I, BT>>(inp.clone());
        return Some(cast(kernels::burn_op::ssd_inference::<R, I, BT>(
            i.x, i.dt, i.a, i.b, i.c, i.d,
        )));
    }
    None
}
