//! A block of rows of a weight [R, rows, D] as one burn operation on the CubeCL backends:
//! forward a tensor over the weight's memory where one replica's rows are contiguous and the
//! block starts at the runtime's memory alignment (no launch; burn's slice also asks its end
//! to be aligned, which in_proj's z and xBC blocks are not, so it copies them), else burn's
//! slice; backward one launch where burn's takes two: the block's gradient laid into zeros of
//! the weight's size by the optimizer's gather ([`crate::adamw::gather_row`], one part at
//! column start D of each replica's row of rows D entries).

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::{Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::{into_contiguous, slice};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::adamw::{RowPart, gather_row};
use crate::burn_common::{aligned_view, autodiff_op, f32_tensor, register_grads};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// A weight [R, rows, D] and its row block start..start + len (the backward's state).
#[derive(Debug, Clone, Copy)]
struct RowBlock {
    replicas: usize,
    rows: usize,
    width: usize,
    start: usize,
    len: usize,
}

/// Rows start..start + len of w [R, rows, D] -> [R, len, D]: a view where one replica's rows
/// are contiguous and the block starts at the memory alignment ([`aligned_view`]), else
/// burn's slice.
fn block<R: CubeRuntime>(w: CubeTensor<R>, b: &RowBlock) -> CubeTensor<R> {
    let d = b.width;
    let strides = w.meta.strides();
    let view = (b.replicas == 1 && strides[2] == 1 && strides[1] == d)
        .then(|| aligned_view(&w, b.start * d, vec![1, b.len, d]))
        .flatten();
    view.unwrap_or_else(|| slice(w, &[0..b.replicas, b.start..b.start + b.len, 0..d]))
}

fn row_block<R: CubeRuntime>(w: &CubeTensor<R>, start: usize, len: usize) -> RowBlock {
    let [replicas, rows, width] = w.meta.shape.dims::<3>();
    assert!(
        start + len <= rows,
        "rows: {start}..{} of a weight of {rows} rows",
        start + len
    );
    RowBlock {
        replicas,
        rows,
        width,
        start,
        len,
    }
}

#[derive(Debug)]
struct RowsBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 1> for RowsBackward {
    type State = RowBlock;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let b = ops.state;
        let g = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, len, D]
        // each replica's row of the weight [rows D]: the block's len D entries at start D
        let part = RowPart {
            handle: g.handle.clone(),
            start: b.start * b.width,
            len: b.len * b.width,
        };
        let dw = gather_row::<R, f32>(&g.client, b.replicas, &[part], b.rows * b.width);
        let dw = f32_tensor(&g, vec![b.replicas, b.rows, b.width], dw);
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), [dw], grads);
    }
}

/// Rows start..start + len of w [R, rows, D] -> [R, len, D] on an autodiff CubeCL backend
/// (f32; the caller checks), with the backward above.
pub fn rows_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    start: usize,
    len: usize,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 3> {
    autodiff_op(RowsBackward, [w.into_primitive().tensor()], |[w]| {
        let b = row_block(&w, start, len);
        (b, block(w, &b))
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation.
pub fn rows_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    w: Tensor<Cube<R, I, BT>, 3>,
    start: usize,
    len: usize,
) -> Tensor<Cube<R, I, BT>, 3> {
    let w = w.into_primitive().tensor();
    let b = row_block(&w, start, len);
    Tensor::from_primitive(TensorPrimitive::Float(block(w, &b)))
}
