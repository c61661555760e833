//! The conv stage and the SSD of a layer as one fused kernel pair (kernels::conv_ssd), where
//! the backend is one they run on ([`crate::fused`] dispatches): the post-conv tensor
//! [R, B, L, E + 2N] and its gradient stay on chip, instead of going through device memory
//! between the conv kernels ([`crate::fused_conv`]) and the SSD kernels ([`crate::fused_ssd`]).
//! The same bits as those two in turn (kernels/tests/conv_ssd_wgpu.rs).
//!
//! Off by default ([`crate::switch`]; `MSYM_FUSED_CONV_SSD=1` or [`set_fused_conv_ssd`] turns
//! it on): on an H200 its forward was 1.7x the two kernel pairs apart and its backward 0.83x,
//! 0.98x at R = 9 in all (results/bench/session18-h200-2026-11-28, call 3). It runs only where the fused conv and the fused SSD
//! are on too, and only for the standard block (`SsmInput::PostConv`) when nothing reads or
//! replaces the post-conv states (probes, records).

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::off_by_default("MSYM_FUSED_CONV_SSD");

/// Turns the fused conv + SSD on or off for this process (overrides MSYM_FUSED_CONV_SSD).
pub fn set_fused_conv_ssd(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused conv + SSD is allowed: [`set_fused_conv_ssd`], else
/// MSYM_FUSED_CONV_SSD, else off.
pub fn fused_conv_ssd_on() -> bool {
    SWITCH.on()
}

/// Layer calls that ran the fused conv + SSD kernels so far in this process.
pub fn fused_conv_ssd_calls() -> usize {
    SWITCH.calls()
}

/// x: the conv's input [R, B, L, C] or the same tokens as [R, A, T, C] (sequences of `len`),
/// w [R, C, K], bias [R, C]; dt [R, B, L], a and d [R, 1]; C = E + 2N.
struct ConvSsd<'a, B: Backend> {
    x: &'a Tensor<B, 4>,
    len: usize,
    w: &'a Tensor<B, 3>,
    bias: &'a Tensor<B, 2>,
    dt: &'a Tensor<B, 3>,
    a: &'a Tensor<B, 2>,
    d: &'a Tensor<B, 2>,
    e: usize,
}

impl<B: Backend> FusedOp<B> for ConvSsd<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        [self.x.dtype(), self.w.dtype(), self.bias.dtype()]
            .into_iter()
            .chain([self.dt.dtype(), self.a.dtype(), self.d.dtype()])
            .collect()
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op_conv_ssd::conv_ssd_autodiff::<R, I, BT, _>(
            cast(self.x.clone()),
            self.len,
            cast(self.w.clone()),
            cast(self.bias.clone()),
            cast(self.dt.clone()),
            cast(self.a.clone()),
            cast(self.d.clone()),
            self.e,
        )
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
        kernels::burn_op_conv_ssd::conv_ssd_inference::<R, I, BT>(
            cast(self.x.clone()),
            self.len,
            cast(self.w.clone()),
            cast(self.bias.clone()),
            cast(self.dt.clone()),
            cast(self.a.clone()),
            cast(self.d.clone()),
            self.e,
        )
    }
}

/// y = SSD(SiLU(conv(x) + bias), dt, A, D) [R, B, L, E] through the fused kernels, or None
/// where this switch (or the fused conv's or SSD's), the backend or the dtypes do not allow
/// them (the caller then runs the conv and the SSD). Shapes as [`ConvSsd`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn try_fused<B: Backend>(
    x: &Tensor<B, 4>,
    len: usize,
    w: &Tensor<B, 3>,
    bias: &Tensor<B, 2>,
    dt: &Tensor<B, 3>,
    a: &Tensor<B, 2>,
    d: &Tensor<B, 2>,
    e: usize,
) -> Option<Tensor<B, 4>> {
    // its own switch first: off by default, so that is the one load most layer calls make
    if !(SWITCH.on() && crate::fused_conv::fused_conv_on() && crate::fused_ssd::fused_ssd_on()) {
        return None;
    }
    let op = ConvSsd {
        x,
        len,
        w,
        bias,
        dt,
        a,
        d,
        e,
    };
    dispatch(&SWITCH, &op)
}
