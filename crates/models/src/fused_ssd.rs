//! The SSD through the fused kernels of crates/kernels, where the backend is one they run on:
//! `Autodiff<CubeBackend<R, f32, ..>>` for training, `CubeBackend` itself for evaluation, with
//! R = CUDA (feature `cuda`) or wgpu (feature `wgpu`, for the tests on lavapipe);
//! [`crate::fused`] dispatches.
//!
//! On by default ([`crate::switch`]; `MSYM_FUSED_SSD=0` or [`set_fused_ssd`] turns it off):
//! on an H200 the form that reads x, B and C in place was 1.09x at R = 9 and 36, and its
//! 5-epoch losses matched the plain ops' to 2.1e-7 (results/bench/checks-h200-2026-11-26).
//! The kernels sum in another order than the plain ops, so a run resumed across the switch
//! continues the same training, not bit for bit the same numbers.

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

/// Whether the fused SSD is allowed: [`set_fused_ssd`], else MSYM_FUSED_SSD, else on.
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
