//! The linear kernels ([`crate::linear`]) as one burn operation on the CubeCL backends, with
//! its own backward (as [`crate::burn_op_dt`] is for dt's row). f32 tensors only, sizes that
//! fit ([`LinearShape::fits_on`]); the caller checks.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::{Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::{autodiff_op, f32_tensor, register_grads};
use crate::linear::{LinearShape, linear_backward, linear_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The shape of x [R, M, K] times w [R, N, K] (out x in), or None where they do not multiply.
pub fn linear_shape(x: &[usize], w: &[usize]) -> Option<LinearShape> {
    match (x, w) {
        ([replicas, tokens, k], [wr, n, wk]) if wr == replicas && wk == k => Some(LinearShape {
            replicas: *replicas,
            tokens: *tokens,
            k: *k,
            n: *n,
        }),
        _ => None,
    }
}

/// The inputs, contiguous; also the backward's saved state.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: LinearShape,
    x: CubeTensor<R>, // [R, M, K]
    w: CubeTensor<R>, // [R, N, K]
}

impl<R: CubeRuntime> Saved<R> {
    fn new(x: CubeTensor<R>, w: CubeTensor<R>) -> Self {
        let shape = linear_shape(&x.meta.shape.dims::<3>(), &w.meta.shape.dims::<3>())
            .expect("linear: x must be [R, M, K] and w [R, N, K]");
        Self {
            shape,
            x: into_contiguous(x),
            w: into_contiguous(w),
        }
    }

    /// y [R, M, N]
    fn forward(&self) -> CubeTensor<R> {
        let s = self.shape;
        let y = linear_forward::<R, f32>(&self.x.client, &s, &self.x.handle, &self.w.handle);
        f32_tensor(&self.x, vec![s.replicas, s.tokens, s.n], y)
    }
}

#[derive(Debug)]
struct LinearBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 2> for LinearBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let s = st.shape;
        let g = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, M, N]
        let k = linear_backward::<R, f32>(&st.x.client, &s, &st.x.handle, &st.w.handle, &g.handle);
        let dx = f32_tensor(&st.x, vec![s.replicas, s.tokens, s.k], k.dx);
        let dw = f32_tensor(&st.x, vec![s.replicas, s.n, s.k], k.dw);
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), [dx, dw], grads);
    }
}

/// y = x W^T on an autodiff CubeCL backend, through the kernels. Shapes: x [R, M, K],
/// w [R, N, K] -> y [R, M, N]; f32, sizes that fit (the caller checks).
pub fn linear_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    x: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 3> {
    let inputs = [x.into_primitive().tensor(), w.into_primitive().tensor()];
    autodiff_op(LinearBackward, inputs, |[x, w]| {
        let st = Saved::new(x, w);
        let out = st.forward();
        (st, out)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn linear_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: Tensor<Cube<R, I, BT>, 3>,
    w: Tensor<Cube<R, I, BT>, 3>,
) -> Tensor<Cube<R, I, BT>, 3> {
    let st = Saved::new(x.into_primitive().tensor(), w.into_primitive().tensor());
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}
