//! The cross-entropy kernels as one burn operation on the CubeCL backends, with its own
//! backward (as [`crate::burn_op_embed`] is for the embedding). f32 logits and i32 labels
//! only; the caller checks.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::{DType, Int, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};
use cubecl::server::Handle;

use crate::burn_common::{autodiff_op, f32_tensor, register_grads};
use crate::burn_op_conv::token_rows;
use crate::cross_entropy::{CeShape, ce_backward, ce_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The backward's saved state: the inputs (x as it lies where its rows are evenly apart,
/// [`token_rows`]) and the forward's lse.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: CeShape,
    dims: [usize; 3], // the logits' [R, B, V]
    x: CubeTensor<R>,
    labels: CubeTensor<R>,
    lse: Handle, // [R, B]
}

impl<R: CubeRuntime> Saved<R> {
    /// The forward: nll [R, B], and the state its backward reads.
    fn forward(x: CubeTensor<R>, labels: CubeTensor<R>) -> (Self, CubeTensor<R>) {
        assert_eq!(labels.dtype, DType::I32, "cross-entropy: the kernels take i32 labels");
        let [r, b, vocab] = x.meta.shape.dims();
        let [rl, bl] = labels.meta.shape.dims();
        assert_eq!(
            (rl, bl),
            (r, b),
            "cross-entropy: labels [R, B] and logits [R, B, V] differ"
        );
        let (x, x_row) = match token_rows(&[r, b, vocab], x.meta.strides()) {
            Some(row) => (x, row),
            None => (into_contiguous(x), vocab),
        };
        let shape = CeShape {
            rows: r * b,
            vocab,
            x_row,
        };
        let labels = into_contiguous(labels);
        let out = ce_forward::<R, f32>(&x.client, &shape, &x.handle, &labels.handle);
        let nll = f32_tensor(&x, vec![r, b], out.nll);
        let st = Self {
            shape,
            dims: [r, b, vocab],
            x,
            labels,
            lse: out.lse,
        };
        (st, nll)
    }
}

#[derive(Debug)]
struct CeBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 1> for CeBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let g = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, B]
        let dx = ce_backward::<R, f32>(
            &st.x.client,
            &st.shape,
            &st.x.handle,
            &st.labels.handle,
            &st.lse,
            &g.handle,
        );
        let dx = f32_tensor(&st.x, st.dims.to_vec(), dx);
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), [dx], grads);
    }
}

/// Each sample's nll = logsumexp(logits) - logits[label] [R, B] on an autodiff CubeCL
/// backend, through the kernels. f32 logits and i32 labels (the caller checks).
/// Shapes: logits [R, B, V], labels [R, B].
pub fn cross_entropy_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    logits: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    labels: Tensor<Autodiff<Cube<R, I, BT>, C>, 2, Int>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 2> {
    let labels = labels.into_primitive();
    autodiff_op(CeBackward, [logits.into_primitive().tensor()], |[x]| {
        Saved::forward(x, labels)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn cross_entropy_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    logits: Tensor<Cube<R, I, BT>, 3>,
    labels: Tensor<Cube<R, I, BT>, 2, Int>,
) -> Tensor<Cube<R, I, BT>, 2> {
    let (_, nll) = Saved::forward(logits.into_primitive().tensor(), labels.into_primitive());
    Tensor::from_primitive(TensorPrimitive::Float(nll))
}
