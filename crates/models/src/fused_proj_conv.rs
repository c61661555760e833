//! in_proj's xBC rows and the conv stage through one forward kernel (kernels::proj_conv)
//! where the backend is one it runs on ([`crate::fused`] dispatches): the product's output
//! [R, B L, E + 2N] is written once, in the same kernel as the conv, instead of by a TF32
//! product into pitched rows that the conv kernel reads back. The backward is the conv
//! kernels' and the two products' of [`crate::grouped::linear_grouped`] (at one replica with
//! MSYM_FUSED_LINEAR on, [`crate::fused_linear`]'s kernels).
//!
//! On by default where the kernels' tensor-core form runs (kernels::proj_conv_mma: a GPU with
//! TF32 products, and shapes that fit it), which gives the separate product's and conv's
//! bits: TF32 products of the same fragments in the same order (its H200 A/B: 1.07x at depth
//! 2, R = 36, the 5-epoch losses equal to the last bit: results/bench/session23-h200-2026-11-28,
//! call 4). Elsewhere (wgpu, or a shape that does not fit) only `MSYM_FUSED_PROJ_CONV=1` or
//! [`set_fused_proj_conv`] turns it on: the CUDA-core form sums in f32, other bits than burn's
//! TF32 product (session 22: 1.03x, losses within 2.1e-7). `MSYM_FUSED_PROJ_CONV=0` turns it
//! off. It runs only inside the split in_proj, where the fused conv is on, the f32 matmul
//! switch is off (its backward's products are burn's), and the conv's input is not read again
//! (`SsmInput::PostConv`, no fused conv + SSD).

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_PROJ_CONV");

/// Turns the fused product + conv on or off for this process (overrides MSYM_FUSED_PROJ_CONV).
pub fn set_fused_proj_conv(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused product + conv is allowed: [`set_fused_proj_conv`], else
/// MSYM_FUSED_PROJ_CONV, else on (where its tensor-core form runs: [`ProjConv::takes`]).
pub fn fused_proj_conv_on() -> bool {
    SWITCH.on()
}

/// Layer calls that ran the fused product + conv so far in this process.
pub fn fused_proj_conv_calls() -> usize {
    SWITCH.calls()
}

/// u [R, B, L, D], wx [R, C, D] (in_proj's xBC rows), w [R, C, K], bias [R, C]; `products`:
/// how the backward forms the product's gradients.
struct ProjConv<'a, B: Backend> {
    u: &'a Tensor<B, 4>,
    wx: &'a Tensor<B, 3>,
    w: &'a Tensor<B, 3>,
    bias: &'a Tensor<B, 2>,
    products: kernels::burn_op_proj_conv::Products,
}

impl<B: Backend> FusedOp<B> for ProjConv<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.u.dtype(), self.wx.dtype(), self.w.dtype(), self.bias.dtype()]
    }

    /// Set on, anywhere; left to the default, only where the forward takes the tensor-core
    /// form (the separate ops' bits).
    fn takes<R: CubeRuntime>(&self) -> bool {
        if SWITCH.setting() == Some(true) {
            return true;
        }
        let [replicas, batch, len, d_model] = self.u.dims();
        let [_, channels, taps] = self.w.dims();
        let shape = kernels::proj_conv::ProjConvShape::new(replicas, batch, len, channels, taps, d_model);
        let client = R::client(&cast::<B::Device, R::Device>(self.u.device()));
        kernels::proj_conv_mma::chosen(&client, &shape)
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op_proj_conv::proj_conv_silu_autodiff::<R, I, BT, _>(
            cast(self.u.clone()),
            cast(self.wx.clone()),
            cast(self.w.clone()),
            cast(self.bias.clone()),
            self.products,
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
    if !SWITCH.on()
        || !crate::fused_conv::fused_conv_on()
        || crate::f32_matmul::f32_matmul_on()
        || crate::fused_conv_ssd::fused_conv_ssd_on()
    {
        return None;
    }
    let [r, b, l, d] = u.dims();
    let products = kernels::burn_op_proj_conv::Products {
        groups: crate::grouped::linear_groups(r, b * l, wx.dims()[1], d),
        // at one replica as the model's other linear maps (crate::fused_linear)
        linear: r == 1 && crate::fused_linear::fused_linear_on() && crate::fused_linear::linear_xbc(),
    };
    dispatch(
        &SWITCH,
        &ProjConv {
            u,
            wx,
            w,
            bias,
            products,
        },
    )
}
