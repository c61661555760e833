//! The dt kernels ([`crate::dt_proj`]) as one burn operation on the CubeCL backends, with its
//! own backward (as [`crate::burn_op_embed`] is for the embedding). f32 tensors only; the
//! caller checks.

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
use crate::dt_proj::{DtShape, dt_backward, dt_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The inputs, contiguous; also the backward's saved state (x is formed again from them).
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: DtShape,
    dims: [usize; 4], // u's [R, B, L, D]
    u: CubeTensor<R>,
    w: CubeTensor<R>,    // [R, D]
    bias: CubeTensor<R>, // [R, 1]
}

impl<R: CubeRuntime> Saved<R> {
    fn new(u: CubeTensor<R>, w: CubeTensor<R>, bias: CubeTensor<R>) -> Self {
        let [replicas, b, l, d] = u.meta.shape.dims();
        assert_eq!(w.meta.shape.dims::<2>(), [replicas, d], "dt: w must be [R, D]");
        assert_eq!(
            bias.meta.shape.dims::<2>(),
            [replicas, 1],
            "dt: the bias must be [R, 1]"
        );
        Self {
            shape: DtShape {
                replicas,
                tokens: b * l,
                d,
            },
            dims: [replicas, b, l, d],
            u: into_contiguous(u),
            w: into_contiguous(w),
            bias: into_contiguous(bias),
        }
    }

    /// dt [R, B, L]
    fn forward(&self) -> CubeTensor<R> {
        let dt = dt_forward::<R, f32>(
            &self.u.client,
            &self.shape,
            &self.u.handle,
            &self.w.handle,
            &self.bias.handle,
        );
        f32_tensor(&self.u, self.dims[..3].to_vec(), dt)
    }
}

#[derive(Debug)]
struct DtBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 3> for DtBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        type C<R, I, BT> = Cube<R, I, BT>;
        let st = ops.state;
        let s = st.shape;
        let g = into_contiguous(grads.consume::<C<R, I, BT>>(&ops.node)); // [R, B, L]
        let k = dt_backward::<R, f32>(&st.u.client, &s, &st.u.handle, &st.w.handle, &st.bias.handle, &g.handle);
        let du = f32_tensor(&st.u, st.dims.to_vec(), k.du);
        // dw and dbias come per token group: sum over G, then drop that axis
        let (r, gs) = (s.replicas, s.groups());
        let dw = f32_tensor(&st.u, vec![r, gs, s.d], k.dw_part);
        let dw = C::<R, I, BT>::float_reshape(sum_dim1::<R, I, BT>(dw), Shape::from(vec![r, s.d]));
        let db = f32_tensor(&st.u, vec![r, gs], k.db_part);
        let db = sum_dim1::<R, I, BT>(db); // [R, 1]
        register_grads::<C<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), [du, dw, db], grads);
    }
}

/// dt = softplus(u . w + bias) [R, B, L] on an autodiff CubeCL backend, through the kernels.
/// f32 tensors, and B L tokens whose groups fit the kernels ([`DtShape::fits`], the caller
/// checks). Shapes: u [R, B, L, D], w [R, D] (in_proj's dt row), bias [R, 1].
pub fn dt_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    u: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    bias: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 3> {
    let inputs = [
        u.into_primitive().tensor(),
        w.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    ];
    autodiff_op(DtBackward, inputs, |[u, w, bias]| {
        let st = Saved::new(u, w, bias);
        let out = st.forward();
        (st, out)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn dt_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    u: Tensor<Cube<R, I, BT>, 4>,
    w: Tensor<Cube<R, I, BT>, 2>,
    bias: Tensor<Cube<R, I, BT>, 2>,
) -> Tensor<Cube<R, I, BT>, 3> {
    let st = Saved::new(
        u.into_primitive().tensor(),
        w.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    );
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}
