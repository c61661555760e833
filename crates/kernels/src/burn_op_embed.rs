//! The embedding kernels as one burn operation on the CubeCL backends, with its own backward
//! (as [`crate::burn_op_norm`] is for the gated norm). f32 tables and i32 tokens only; the
//! caller checks.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{DType, Int, Shape, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::{autodiff_op, f32_tensor, register_grads, sum_dim1};
use crate::embed::{EmbedShape, embed_backward, embed_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The inputs, contiguous; also the backward's saved state (the tokens alone are needed).
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: EmbedShape,
    dims: [usize; 4], // the output's [R, B, L, D]
    tokens: CubeTensor<R>,
    w: CubeTensor<R>, // [R, V, D]
}

impl<R: CubeRuntime> Saved<R> {
    fn new(w: CubeTensor<R>, tokens: CubeTensor<R>) -> Self {
        assert_eq!(tokens.dtype, DType::I32, "embed: the kernels take i32 tokens");
        let [replicas, vocab, d] = w.meta.shape.dims();
        let [rt, b, l] = tokens.meta.shape.dims();
        assert_eq!(rt, replicas, "embed: tokens and table differ in replicas");
        Self {
            shape: EmbedShape {
                replicas,
                tokens: b * l,
                vocab,
                d,
            },
            dims: [replicas, b, l, d],
            tokens: into_contiguous(tokens),
            w: into_contiguous(w),
        }
    }

    /// out [R, B, L, D]
    fn forward(&self) -> CubeTensor<R> {
        let out = embed_forward::<R, f32>(&self.w.client, &self.shape, &self.tokens.handle, &self.w.handle);
        f32_tensor(&self.w, self.dims.to_vec(), out)
    }
}

#[derive(Debug)]
struct EmbedBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 1> for EmbedBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let s = st.shape;
        let g = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, B, L, D]
        let part = embed_backward::<R, f32>(&st.w.client, &s, &st.tokens.handle, &g.handle);
        // dw comes per token group: sum over G, then drop that axis
        let part = f32_tensor(&st.w, vec![s.replicas, s.groups(), s.vocab * s.d], part);
        let dw = sum_dim1::<R, I, BT>(part);
        let dw = Cube::<R, I, BT>::float_reshape(dw, Shape::from(vec![s.replicas, s.vocab, s.d]));
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), [dw], grads);
    }
}

/// w[r, tokens[r, b, l]] [R, B, L, D] on an autodiff CubeCL backend, through the kernels.
/// f32 table, i32 tokens and D in 1..=[`crate::embed::MAX_D`] (the caller checks).
/// Shapes: w [R, V, D], tokens [R, B, L].
pub fn embed_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    tokens: Tensor<Autodiff<Cube<R, I, BT>, C>, 3, Int>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let tokens = tokens.into_primitive();
    autodiff_op(EmbedBackward, [w.into_primitive().tensor()], |[w]| {
        let st = Saved::new(w, tokens);
        let out = st.forward();
        (st, out)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn embed_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    w: Tensor<Cube<R, I, BT>, 3>,
    tokens: Tensor<Cube<R, I, BT>, 3, Int>,
) -> Tensor<Cube<R, I, BT>, 4> {
    let st = Saved::new(w.into_primitive().tensor(), tokens.into_primitive());
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}
