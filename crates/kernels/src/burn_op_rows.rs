//! A block of rows of a weight [R, rows, D] as one burn operation on the CubeCL backends:
//! forward a tensor over the weight's memory where one replica's rows are contiguous and the
//! block starts at the runtime's memory alignment (no launch; burn's slice also asks its end
//! to be aligned, which in_proj's z and xBC blocks are not, so it copies them), else burn's
//! slice; backward one launch ([`crate::rows::pad_rows`]) where burn's takes two.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::{DType, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::{into_contiguous, slice};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::{autodiff_op, f32_tensor, register_grads};
use crate::rows::{RowBlock, pad_rows};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// Rows start..start + len of w [R, rows, D] -> [R, len, D]: a view where it can be made
/// (see the module's note), else burn's slice.
fn block<R: CubeRuntime>(w: CubeTensor<R>, b: &RowBlock) -> CubeTensor<R> {
    let d = b.width;
    let strides = w.meta.strides();
    let rows_contiguous = strides[2] == 1 && strides[1] == d;
    let elem = core::mem::size_of::<f32>() as u64;
    let first = (b.start * d) as u64 * elem;
    let end = ((b.start + b.len) * d) as u64 * elem;
    let align = w.client.properties().memory.alignment;
    let base = w.handle.offset_start.unwrap_or(0);
    let visible = w.handle.size_in_used();
    if b.replicas == 1
        && w.dtype == DType::F32
        && rows_contiguous
        && end <= visible
        && (base + first).is_multiple_of(align)
    {
        let handle = w.handle.clone().offset_start(first).offset_end(visible - end);
        return f32_tensor(&w, vec![1, b.len, d], handle);
    }
    slice(w, &[0..b.replicas, b.start..b.start + b.len, 0..d])
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
        let dw = pad_rows::<R>(&g.client, &b, &g.handle);
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
