//! in_proj's xBC rows and the conv + SiLU as one burn operation on the CubeCL backends
//! ([`crate::proj_conv`]'s forward kernel), with its own backward: the conv kernels' backward
//! on the saved xbc (the CUDA-core form), or the tensor-core form's, which forms xbc again
//! from u ([`crate::proj_conv_mma_backward`]; the forward then writes no xbc), then the
//! product's two gradients as burn products in the token-grouped form of models::grouped (the
//! same products that autodiff ran for the separate product), or [`crate::linear`]'s f32
//! kernels where the caller asks ([`Products::linear`]: at R = 1, where burn's matmul launches
//! cost the host most), or, after the tensor-core form and with MSYM_PROJ_CONV_GRADS=1, one
//! tensor-core kernel ([`crate::proj_grads_mma`]). f32 only; the caller checks.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{Shape, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::{autodiff_op, f32_tensor, register_grads, sum_dim1};
use crate::burn_op_conv::{summed_taps_and_bias, token_rows};
use crate::conv_silu::{ConvGrads, ConvInputs, conv_silu_backward};
use crate::linear::{LinearShape, linear_backward};
use crate::proj_conv::{Kept, ProjConvInputs, ProjConvShape, proj_conv_silu_forward};
use crate::proj_conv_mma_backward::proj_conv_mma_backward;
use crate::proj_grads_mma::{self, ProductGrads, product_grads_mma};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// How the backward forms the product's two gradients (du and dwx) from dxbc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Products {
    /// Token groups of burn's grouped weight-gradient product (models::grouped's G for these
    /// sizes; a divisor of B L).
    pub groups: usize,
    /// [`crate::linear`]'s kernels instead of burn's products, where u's token rows are
    /// contiguous and the weight fits them (else burn's, with `groups`). Other bits: f32
    /// products where burn's round to TF32.
    pub linear: bool,
}

/// The backward's saved state: the inputs as the forward read them, and what the forward
/// kept (xbc, or the rounded W^T from which the tensor-core form's backward forms xbc again).
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: ProjConvShape,
    /// How the product's gradients are formed.
    products: Products,
    u: CubeTensor<R>, // [R, B, L, D], contiguous or in padded token rows
    u_row: usize,
    wx: CubeTensor<R>,   // [R, C, D] as given (a view of in_proj's weight)
    w: CubeTensor<R>,    // [R, C, K]
    bias: CubeTensor<R>, // [R, C]
    kept: Kept,
}

/// The forward: out [R, B, L, C] and the saved state (with xbc) for the backward.
fn forward<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    u: CubeTensor<R>,
    wx: CubeTensor<R>,
    w: CubeTensor<R>,
    bias: CubeTensor<R>,
    products: Products,
) -> (Saved<R>, CubeTensor<R>) {
    let [replicas, batch, len, d_model] = u.meta.shape.dims::<4>();
    let [_, channels, taps] = w.meta.shape.dims::<3>();
    let shape = ProjConvShape::new(replicas, batch, len, channels, taps, d_model);
    let groups = products.groups;
    assert!(
        (batch * len).is_multiple_of(groups),
        "proj_conv: {groups} token groups do not divide {batch} x {len} tokens"
    );
    let (u, u_row) = match token_rows(&[replicas, batch, len, d_model], u.meta.strides()) {
        Some(row) => (u, row),
        None => (into_contiguous(u), d_model),
    };
    let (w, bias) = (into_contiguous(w), into_contiguous(bias));
    // [R, C, D] -> [R, D, C]: the kernel's units read C-adjacent weights
    let wt = into_contiguous(Cube::<R, I, BT>::float_swap_dims(wx.clone(), 1, 2));
    let inp = ProjConvInputs {
        u: u.handle.clone(),
        u_row,
        wt: wt.handle.clone(),
        w: w.handle.clone(),
        bias: bias.handle.clone(),
    };
    let res = proj_conv_silu_forward::<R, f32>(&w.client, &shape, &inp);
    let out = f32_tensor(&w, vec![replicas, batch, len, channels], res.out);
    let st = Saved {
        shape,
        products,
        u,
        u_row,
        wx,
        w,
        bias,
        kept: res.kept,
    };
    (st, out)
}

#[derive(Debug)]
struct ProjConvBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 4> for ProjConvBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let s = st.shape.conv;
        let g = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, B, L, C]
        let client = &st.w.client;
        let out = match &st.kept {
            Kept::RoundedWt(wt) => {
                let inp = ProjConvInputs {
                    u: st.u.handle.clone(),
                    u_row: st.u_row,
                    wt: wt.clone(),
                    w: st.w.handle.clone(),
                    bias: st.bias.handle.clone(),
                };
                let k = proj_conv_mma_backward::<R>(client, &st.shape, &inp, &g.handle);
                if proj_grads_mma::chosen(&st.shape) {
                    let p = product_grads_mma::<R>(client, &st.shape, &inp, &k.dx);
                    through_product::<R, I, BT>(&st, &k, p)
                } else {
                    from_dxbc::<R, I, BT>(st, k)
                }
            }
            Kept::Xbc(xbc) => {
                let conv_in = ConvInputs {
                    x: xbc.clone(),
                    w: st.w.handle.clone(),
                    bias: st.bias.handle.clone(),
                    x_row: s.channels,
                };
                let k = conv_silu_backward::<R, f32>(client, &s, &conv_in, &g.handle);
                from_dxbc::<R, I, BT>(st, k)
            }
        };
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), out, grads);
    }
}

/// The four gradients [du, dwx, dw, dbias] from the tensor-core conv backward (`k`: its taps'
/// and bias's partials) and the product's gradients on tensor cores (`p`: du whole, dW^T as
/// the cubes' partial sums).
fn through_product<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    st: &Saved<R>,
    k: &ConvGrads,
    p: ProductGrads,
) -> [CubeTensor<R>; 4] {
    type C<R, I, BT> = Cube<R, I, BT>;
    let (s, d) = (&st.shape.conv, st.shape.d_model);
    let r = s.replicas;
    let [dw, db] = summed_taps_and_bias::<R, I, BT>(&st.w, s, &k.dw_part, &k.db_part);
    let du = f32_tensor(&st.w, vec![r, s.batch, s.len, d], p.du);
    // dW^T [R, cubes, D, C] summed over the cubes
    let parts = f32_tensor(&st.w, vec![r, p.cubes, d, s.channels], p.dwt_part);
    let dwt = C::<R, I, BT>::float_reshape(sum_dim1::<R, I, BT>(parts), Shape::from(vec![r, d, s.channels]));
    [du, C::<R, I, BT>::float_swap_dims(dwt, 1, 2), dw, db]
}

/// The four gradients [du, dwx, dw, dbias] from a conv backward's dx (= dxbc) and partials:
/// the product's two gradients as burn products in models::grouped's token-grouped form (the
/// same products that autodiff ran for the separate product).
fn from_dxbc<R: CubeRuntime, I: IntElement, BT: BoolElement>(st: Saved<R>, k: ConvGrads) -> [CubeTensor<R>; 4] {
    type C<R, I, BT> = Cube<R, I, BT>;
    let (s, d) = (st.shape.conv, st.shape.d_model);
    let [dw, db] = summed_taps_and_bias::<R, I, BT>(&st.w, &s, &k.dw_part, &k.db_part);
    let (r, m, gr) = (s.replicas, s.batch * s.len, st.products.groups);
    // u [R, M, D] times wx [R, C, D]^T was the product: its gradients for dxbc [R, M, C]
    let linear = LinearShape {
        replicas: r,
        tokens: m,
        k: d,
        n: s.channels,
    };
    if st.products.linear && st.u_row == d && linear.fits_on(&st.w.client) {
        let wx = into_contiguous(st.wx);
        let p = linear_backward::<R, f32>(&st.w.client, &linear, &st.u.handle, &wx.handle, &k.dx);
        let du = f32_tensor(&st.w, vec![r, s.batch, s.len, d], p.dx);
        return [du, f32_tensor(&st.w, vec![r, s.channels, d], p.dw), dw, db];
    }
    // dxbc token-grouped: [R, G, M/G, C]
    let grouped =
        |t: CubeTensor<R>, cols: usize| C::<R, I, BT>::float_reshape(t, Shape::from(vec![r, gr, m / gr, cols]));
    let dxbc = grouped(f32_tensor(&st.w, vec![r, s.batch, s.len, s.channels], k.dx), s.channels);
    // du = dxbc wx: [R, G, M/G, C] x [R, 1, C, D]
    let wx = C::<R, I, BT>::float_reshape(st.wx, Shape::from(vec![r, 1, s.channels, d]));
    let du = C::<R, I, BT>::float_matmul(dxbc.clone(), wx);
    let du = C::<R, I, BT>::float_reshape(du, Shape::from(vec![r, s.batch, s.len, d]));
    // dwx^T = sum over G of u^T dxbc: [R, G, D, M/G] x [R, G, M/G, C] -> [R, D, C]
    let u = grouped(st.u, d);
    let dwt = C::<R, I, BT>::float_matmul(C::<R, I, BT>::float_swap_dims(u, 2, 3), dxbc);
    let dwt = C::<R, I, BT>::float_reshape(sum_dim1::<R, I, BT>(dwt), Shape::from(vec![r, d, s.channels]));
    [du, C::<R, I, BT>::float_swap_dims(dwt, 1, 2), dw, db]
}

/// SiLU(causal depthwise conv(u wx^T) + bias) [R, B, L, C] on an autodiff CubeCL backend:
/// in_proj's xBC rows and the conv stage through one forward kernel. f32 inputs (the caller
/// checks). u [R, B, L, D] (contiguous or in padded token rows), wx [R, C, D] (PyTorch's
/// [out, in]; a narrowed view of in_proj's weight is fine), w [R, C, K], bias [R, C];
/// `products`: how the backward forms the product's gradients. A frozen w (fig5b's all-ones
/// kernel) gets no gradient, as with the plain ops.
pub fn proj_conv_silu_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    u: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    wx: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    bias: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    products: Products,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let inputs = [
        u.into_primitive().tensor(),
        wx.into_primitive().tensor(),
        w.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    ];
    autodiff_op(ProjConvBackward, inputs, |[u, wx, w, bias]| {
        forward::<R, I, BT>(u, wx, w, bias, products)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn proj_conv_silu_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    u: Tensor<Cube<R, I, BT>, 4>,
    wx: Tensor<Cube<R, I, BT>, 3>,
    w: Tensor<Cube<R, I, BT>, 3>,
    bias: Tensor<Cube<R, I, BT>, 2>,
) -> Tensor<Cube<R, I, BT>, 4> {
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let (_, out) = forward::<R, I, BT>(
        p(u.into_primitive()),
        p(wx.into_primitive()),
        p(w.into_primitive()),
        p(bias.into_primitive()),
        Products {
            groups: 1,
            linear: false,
        },
    );
    Tensor::from_primitive(TensorPrimitive::Float(out))
}
