//! What the two burn operations ([`crate::burn_op`], [`crate::burn_op_conv`]) share: wrapping a
//! kernel's output handle as a tensor, and handing each input its gradient.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::grads::Gradients;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeRuntime;
use burn_cubecl::tensor::CubeTensor;
use cubecl::server::Handle;

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
