//! What the burn operations of this crate (SSD, conv, gated norm and RMSNorm, embedding)
//! share: building the output on the autodiff backend, wrapping a kernel's output handle as
//! a tensor, and handing each input its gradient.

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, OpsKind};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, FloatTensorOps};
use burn::tensor::{DType, Shape, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};
use cubecl::server::Handle;

/// An operation's output [D dims] on the autodiff backend. `forward` gets the inputs' inner
/// tensors and returns the backward's saved state and the output; where any input is tracked,
/// `op` is registered as the output's backward with that state, else the state is dropped
/// (burn's prepare, compute_bound, stateful, finish). `inputs` are the float inputs that take
/// gradients, in the order of `op`'s parents; an operation's other inputs (the embedding's
/// tokens) go into `forward` by capture.
pub(crate) fn autodiff_op<B, O, C, const N: usize, const D: usize>(
    op: O,
    inputs: [FloatTensor<Autodiff<B, C>>; N],
    forward: impl FnOnce([FloatTensor<B>; N]) -> (O::State, FloatTensor<B>),
) -> Tensor<Autodiff<B, C>, D>
where
    B: Backend,
    O: Backward<B, N>,
    C: CheckpointStrategy,
{
    let nodes = inputs.each_ref().map(|t| t.node.clone());
    let (state, out) = forward(inputs.map(|t| t.primitive));
    let out = match op.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// A contiguous f32 tensor of `dims` over `handle`, on `like`'s client and device.
pub(crate) fn f32_tensor<R: CubeRuntime>(like: &CubeTensor<R>, dims: Vec<usize>, handle: Handle) -> CubeTensor<R> {
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        Shape::from(dims),
        handle,
        DType::F32,
    )
}

/// A contiguous f32 tensor of `dims` over `t`'s memory from its element `first` on (no
/// launch), or None where that element's byte is not at the runtime's memory alignment (what
/// its allocations guarantee, and what burn's own slices ask of a view: 512 bytes on CUDA) or
/// the view would run past `t`'s memory. The caller checks that those elements are the ones
/// it means (contiguous in `t`); the view keeps `t`'s memory alive, and an operation that
/// would write into it in place sees a shared handle and writes a new tensor.
pub(crate) fn aligned_view<R: CubeRuntime>(t: &CubeTensor<R>, first: usize, dims: Vec<usize>) -> Option<CubeTensor<R>> {
    let elem = core::mem::size_of::<f32>() as u64;
    let start = first as u64 * elem;
    let end = (first + dims.iter().product::<usize>()) as u64 * elem;
    let visible = t.handle.size_in_used();
    let base = t.handle.offset_start.unwrap_or(0);
    let fits = t.dtype == DType::F32
        && end <= visible
        && (base + start).is_multiple_of(t.client.properties().memory.alignment);
    fits.then(|| f32_tensor(t, dims, t.handle.clone().offset_start(start).offset_end(visible - end)))
}

/// Registers each input's gradient (`parents`: the ids of `Ops::parents`); an input without a
/// node (untracked or frozen, as fig5b's all-ones conv) gets none.
pub(crate) fn register_grads<B: Backend, const N: usize>(
    parents: [Option<NodeId>; N],
    out: [B::FloatTensorPrimitive; N],
    grads: &mut Gradients,
) {
    for (parent, grad) in parents.into_iter().zip(out) {
        if let Some(id) = parent {
            grads.register::<B>(id, grad);
        }
    }
}

/// t [R, G, ..] summed over axis 1 -> [R, 1, ..] (burn's float_sum_dim(t, 1)): by
/// [`crate::linear::sum_groups`] where [`crate::GROUP_SUMS`] is on and t is a contiguous f32
/// tensor, else by burn's reduction.
pub(crate) fn sum_dim1<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: CubeTensor<R>) -> CubeTensor<R> {
    let dims = t.meta.shape.to_vec();
    let kernel = crate::GROUP_SUMS.load(core::sync::atomic::Ordering::Relaxed)
        && t.dtype == DType::F32
        && dims.len() >= 2
        && t.is_contiguous();
    if !kernel {
        return CubeBackend::<R, f32, I, BT>::float_sum_dim(t, 1);
    }
    let width = dims[2..].iter().product();
    let out = crate::linear::sum_groups::<R, f32>(&t.client, &t.handle, dims[0], dims[1], width);
    let mut kept = dims;
    kept[1] = 1;
    f32_tensor(&t, kept, out)
}

/// Each replica's sum of its per-sequence values: t [R, B] -> [R, 1], summed in two stages,
/// [R, G, B/G] over B/G and then over G (G = [`crate::token_groups`] of B). Why: burn's
/// reduction (without autotune) runs one unit per output, so [R, B] -> [R, 1] was R units
/// each walking B values: 78-83 us for each of the SSD backward's two sums (dA and dD) at
/// fig3's R = 36, B = 2048 on an H200 (ncu, results/bench/session18-h200-2026-11-28/call4).
/// The stages sum in another order than one walk, so the bits of dA and dD change.
pub(crate) fn sum_per_replica<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: CubeTensor<R>) -> CubeTensor<R> {
    type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;
    let [r, b] = t.meta.shape().dims::<2>();
    let g = crate::token_groups(b);
    let grouped = Cube::<R, I, BT>::float_reshape(t, Shape::from(vec![r, g, b / g]));
    // burn's sum over a contiguous axis adds in vectorized lanes: sum_groups' walk in order
    // would change its bits (tests/linear_wgpu.rs), so the first stage stays burn's
    let per_group = Cube::<R, I, BT>::float_sum_dim(grouped, 2); // [R, G, 1]
    let total = sum_dim1::<R, I, BT>(per_group); // [R, 1, 1]
    Cube::<R, I, BT>::float_reshape(total, Shape::from(vec![r, 1]))
}
