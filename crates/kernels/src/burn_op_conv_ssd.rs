//! The fused conv + SSD kernels ([`crate::conv_ssd`]) as one burn operation on the CubeCL
//! backends, with its own backward: in place of the conv operation ([`crate::burn_op_conv`])
//! followed by the SSD operation ([`crate::burn_op`]), and with the same gradients bit for
//! bit. f32 only; the caller checks. Where the client's shared memory does not hold the fused
//! backward's cube ([`ConvSsdShape::fits`]), the two operations run in turn.

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

use crate::SsdShape;
use crate::burn_common::{autodiff_op, f32_tensor, register_grads, sum_dim1, sum_per_replica};
use crate::burn_op::{ssd_autodiff, ssd_inference};
use crate::burn_op_conv::{conv_silu_autodiff, conv_silu_inference, token_rows};
use crate::conv_ssd::{ConvSsdInputs, ConvSsdShape, conv_ssd_backward, conv_ssd_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The six inputs (x as it lies where its token rows allow, as the conv operation reads it;
/// the rest contiguous); also the backward's saved state.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: ConvSsdShape,
    x: CubeTensor<R>, // [R, B, L, C] or [R, A, T, C] with A T = B L, token rows x_row apart
    x_row: usize,
    x_dims: [usize; 4],  // x's own shape, which its gradient takes
    w: CubeTensor<R>,    // [R, C, K]
    bias: CubeTensor<R>, // [R, C]
    dt: CubeTensor<R>,   // [R, B, L]
    a: CubeTensor<R>,    // [R, 1]
    d: CubeTensor<R>,    // [R, 1]
}

impl<R: CubeRuntime> Saved<R> {
    /// `len` tokens a sequence, `e` the SSD's x columns of the conv's C = E + 2N channels.
    fn new(len: usize, e: usize, p: [CubeTensor<R>; 6]) -> Self {
        let [x, w, bias, dt, a, d] = p;
        let x_dims: [usize; 4] = x.meta.shape.dims();
        let shape = shape_of(x_dims, len, e, w.meta.shape.dims::<3>()[2]);
        let (x, x_row) = match token_rows(&x_dims, x.meta.strides()) {
            Some(row) => (x, row),
            None => (into_contiguous(x), x_dims[3]),
        };
        let [w, bias, dt, a, d] = [w, bias, dt, a, d].map(into_contiguous);
        Self {
            shape,
            x,
            x_row,
            x_dims,
            w,
            bias,
            dt,
            a,
            d,
        }
    }

    fn handles(&self) -> ConvSsdInputs {
        ConvSsdInputs {
            x: self.x.handle.clone(),
            x_row: self.x_row,
            w: self.w.handle.clone(),
            bias: self.bias.handle.clone(),
            dt: self.dt.handle.clone(),
            a: self.a.handle.clone(),
            d: self.d.handle.clone(),
        }
    }

    fn new_tensor(&self, dims: Vec<usize>, handle: cubecl::server::Handle) -> CubeTensor<R> {
        f32_tensor(&self.x, dims, handle)
    }

    /// y [R, B, L, E]
    fn forward(&self) -> CubeTensor<R> {
        let s = self.shape.ssd;
        let y = conv_ssd_forward::<R, f32>(&self.x.client, &self.shape, &self.handles());
        self.new_tensor(vec![s.replicas, s.batch, s.len, s.e], y)
    }
}

/// The launch shape of x's dims [R, A, T, C] (A T = B L), `len` tokens a sequence, E = `e`
/// and `taps`.
fn shape_of(x_dims: [usize; 4], len: usize, e: usize, taps: usize) -> ConvSsdShape {
    let [replicas, a, t, c] = x_dims;
    assert!(
        len > 0 && (a * t).is_multiple_of(len),
        "conv + SSD: {a} x {t} tokens a replica are not whole sequences of {len}"
    );
    assert!(
        c > e && (c - e).is_multiple_of(2),
        "conv + SSD: {c} channels do not split as E = {e} plus 2N"
    );
    ConvSsdShape {
        ssd: SsdShape {
            replicas,
            batch: a * t / len,
            len,
            e,
            n: (c - e) / 2,
        },
        taps,
    }
}

/// Whether the fused kernels run on `x`'s client for x's dims [R, A, T, C] (sequences of
/// `len`), E = `e` and `taps`: its shared memory must hold a backward cube.
fn fits<R: CubeRuntime>(x: &CubeTensor<R>, len: usize, e: usize, taps: usize) -> bool {
    shape_of(x.meta.shape.dims(), len, e, taps).fits::<R, f32>(&x.client)
}

#[derive(Debug)]
struct ConvSsdBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 6> for ConvSsdBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let (s, conv) = (st.shape.ssd, st.shape.conv());
        let dy = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, B, L, E]
        let g = conv_ssd_backward::<R, f32>(&st.x.client, &st.shape, &st.handles(), &dy.handle);
        let groups = conv.groups();
        // dw and dbias come per sequence group (sum over axis 1), dA and dD per sequence
        let sum = |dims: Vec<usize>, h| sum_dim1::<R, I, BT>(st.new_tensor(dims, h));
        let (r, c, k) = (s.replicas, conv.channels, conv.taps);
        let dw = sum(vec![r, groups, c, k], g.dw_part);
        let db = sum(vec![r, groups, c], g.db_part);
        let out = [
            st.new_tensor(st.x_dims.to_vec(), g.dx), // x's own shape, the same token order
            Cube::<R, I, BT>::float_reshape(dw, Shape::from(vec![r, c, k])),
            Cube::<R, I, BT>::float_reshape(db, Shape::from(vec![r, c])),
            st.new_tensor(vec![r, s.batch, s.len], g.ddt),
            sum_per_replica::<R, I, BT>(st.new_tensor(vec![r, s.batch], g.da_part)),
            sum_per_replica::<R, I, BT>(st.new_tensor(vec![r, s.batch], g.dd_part)),
        ];
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), out, grads);
    }
}

/// y = SSD(SiLU(conv(x) + bias), dt, A, D) [R, B, L, E] on an autodiff CubeCL backend, the
/// SSD's x, B and C being the conv output's first E channels and the two halves of the rest.
/// f32 inputs (the caller checks). Shapes: x [R, B, L, C] or any
/// [R, A, T, C] holding the same tokens in the same order (as the conv operation takes it);
/// w [R, C, K], bias [R, C], dt [R, B, L], a and d [R, 1]. A frozen w gets no gradient.
#[allow(clippy::too_many_arguments)]
pub fn conv_ssd_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    x: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    len: usize,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    bias: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    dt: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    a: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    d: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    e: usize,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let x = x.into_primitive().tensor();
    if !fits(&x.primitive, len, e, w.dims()[2]) {
        let x = Tensor::from_primitive(TensorPrimitive::Float(x));
        return ssd_autodiff(conv_silu_autodiff(x, len, w, bias), dt, a, d, e);
    }
    let inputs = [
        x,
        w.into_primitive().tensor(),
        bias.into_primitive().tensor(),
        dt.into_primitive().tensor(),
        a.into_primitive().tensor(),
        d.into_primitive().tensor(),
    ];
    autodiff_op(ConvSsdBackward, inputs, |inner| {
        let st = Saved::new(len, e, inner);
        let y = st.forward();
        (st, y)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
#[allow(clippy::too_many_arguments)]
pub fn conv_ssd_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: Tensor<Cube<R, I, BT>, 4>,
    len: usize,
    w: Tensor<Cube<R, I, BT>, 3>,
    bias: Tensor<Cube<R, I, BT>, 2>,
    dt: Tensor<Cube<R, I, BT>, 3>,
    a: Tensor<Cube<R, I, BT>, 2>,
    d: Tensor<Cube<R, I, BT>, 2>,
    e: usize,
) -> Tensor<Cube<R, I, BT>, 4> {
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let x = p(x.into_primitive());
    if !fits(&x, len, e, w.dims()[2]) {
        let x = Tensor::from_primitive(TensorPrimitive::Float(x));
        return ssd_inference(conv_silu_inference(x, len, w, bias), dt, a, d, e);
    }
    let inner = [
        x,
        p(w.into_primitive()),
        p(bias.into_primitive()),
        p(dt.into_primitive()),
        p(a.into_primitive()),
        p(d.into_primitive()),
    ];
    Tensor::from_primitive(TensorPrimitive::Float(Saved::new(len, e, inner).forward()))
}
