//! The SSD through the fused kernels of crates/kernels, where the backend is one they run on:
//! `Autodiff<CubeBackend<R, f32, ..>>` for training, `CubeBackend` itself for evaluation, with
//! R = CUDA (feature `cuda`) or wgpu (feature `wgpu`, for the tests on lavapipe);
//! [`crate::fused`] dispatches.
//!
//! Off unless asked (`MSYM_FUSED_SSD=1`, or [`set_fused_ssd`]): the kernels sum in another
//! order than the plain ops, so runs resumed from the plain path keep it. On an H200 their
//! first form (x, B and C sliced out and copied) trained the same (5 epochs, losses within
//! 2.1e-7) and was no faster at R = 9 or 36; the form that reads them in place is not yet
//! measured (results/bench/NOTES.md, eighth session).

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
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

/// xbc [R, B, L, E + 2N] (x its first E columns, then B, then C), dt [R, B, L], a, d [R, 1].
struct Ssd<'a, B: Backend> {
    xbc: &'a Tensor<B, 4>,
    e: usize,
    dt: &'a Tensor<B, 3>,
    a: &'a Tensor<B, 2>,
    d: &'a Tensor<B, 2>,
}

impl<B: Backend> FusedOp<B> for Ssd<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.xbc.dtype(), self.dt.dtype(), self.a.dtype(), self.d.dtype()]
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op::ssd_autodiff::<R, I, BT, _>(
            cast(self.xbc.clone()),
            cast(self.dt.clone()),
            cast(self.a.clone()),
            cast(self.d.clone()),
            self.e,
        )
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
        kernels::burn_op::ssd_inference::<R, I, BT>(
            cast(self.xbc.clone()),
            cast(self.dt.clone()),
            cast(self.a.clone()),
            cast(self.d.clone()),
            self.e,
        )
    }
}

/// y [R, B, L, E] through the kernels, or None where this backend, dtype or switch does not
/// allow them (the caller then runs the plain ops). The kernels read x, B and C in place from
/// `xbc` [R, B, L, E + 2N]; dt [R, B, L], a and d [R, 1].
pub(crate) fn try_fused<B: Backend>(
    xbc: &Tensor<B, 4>,
    e: usize,
    dt: &Tensor<B, 3>,
    a: &Tensor<B, 2>,
    d: &Tensor<B, 2>,
) -> Option<Tensor<B, 4>> {
    dispatch(&SWITCH, &Ssd { xbc, e, dt, a, d })
}
