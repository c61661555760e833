//! in_proj's xBC rows and the conv stage through one forward kernel (kernels::proj_conv)
//! where the backend is one it runs on ([`crate::fused`] dispatches): the product's output
//! [R, B L, E + 2N] is written once, in the same kernel as the conv, instead of by a TF32
//! product into pitched rows that the conv kernel reads back. The backward is the conv
//! kernels' and the two products' of [`crate::grouped::linear_grouped`].
//!
//! Off by default ([`crate::switch`]; `MSYM_FUSED_PROJ_CONV=1` or [`set_fused_proj_conv`]
//! turns it on): it multiplies in f32 where burn's product rounds to TF32, so it changes a
//! run's bits, and its H200 A/B gave 1.03x at depth 2, R = 36 (5-epoch losses within 2.1e-7),
//! below the 5% bar for a default (results/bench/session22-h200-2026-11-28, call 4). Its kernel
//! is bound by its instruction count (call 6). It runs only inside the split in_proj, where the fused conv is
//! on, the f32 matmul switch is off (its backward's products are burn's), and the conv's
//! input is not read again (`SsmInput::PostConv`, no fused conv + SSD).

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::off_by_default("MSYM_FUSED_PROJ_CONV");

/// Turns the fused product + conv on or off for this process (overrides MSYM_FUSED_PROJ_CONV).
pub fn set_fused_proj_conv(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused product + conv is allowed: [`set_fused_proj_conv`], else
/// MSYM_FUSED_PROJ_CONV, else off.
pub fn fused_proj_conv_on() -> bool {
    SWITCH.on()
}

/// Layer calls that ran the fused product + conv so far in this process.
pub fn fused_proj_conv_calls() -> usize {
    SWITCH.calls()
}

/// u [R, B, L, D], wx [R, C, D] (in_proj's xBC rows), w [R, C, K], bias [R, C]; `groups`:
/// the token groups of wx's gradient product.
struct ProjConv<'a, B: Backend> {
    u: &'a Tensor<B, 4>,
    wx: &'a Tensor<B, 3>,
    w: &'a Tensor<B, 3>,
    bias: &'a Tensor<B, 2>,
    groups: usize,
}

impl<B: Backend> FusedOp<B> for ProjConv<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.u.dtype(), self.wx.dtype(), self.w.dtype(), self.bias.dtype()]
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op_proj_conv::proj_conv_silu_autodiff::<R, I, BT, _>(
            cast(self.u.clone()),
            cast(self.wx.clone()),
            cast(self.w.clone()),
            cast(self.bias.clone()),
            self.groups,
        )
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
        kernels::burn_op_proj_conv::proj_conv_silu_inference::<R, I, BT>(
            cast(self.u.clone()),
            cast(self.wx.clone()),
            cast(self.w.clone()),
            cast(self.bias.clone()),
        )
    }
}

/// SiLU(conv(u wx^T) + bias) [R, B, L, C] through the kernel, or None where this switch (or
/// the fused conv's off, or the f32 matmul's or the fused conv + SSD's on), the backend or the
/// dtypes do not allow it (the caller then runs the product and the conv). Shapes as
/// [`ProjConv`]; wx's gradient product takes [`crate::grouped::linear_grouped`]'s token groups.
pub(crate) fn try_fused<B: Backend>(
    u: &Tensor<B, 4>,
    wx: &Tensor<B, 3>,
    w: &Tensor<B, 3>,
    bias: &Tensor<B, 2>,
) -> Option<Tensor<B, 4>> {
    // its own switch first: off by default, so that is the one load most layer calls make
    if !SWITCH.on()
        || !crate::fused_conv::fused_conv_on()
        || crate::f32_matmul::f32_matmul_on()
        || crate::fused_conv_ssd::fused_conv_ssd_on()
    {
        return None;
    }
    let [r, b, l, d] = u.dims();
    let groups = crate::grouped::linear_groups(r, b * l, wx.dims()[1], d);
    dispatch(&SWITCH, &ProjConv { u, wx, w, bias, groups })
}
