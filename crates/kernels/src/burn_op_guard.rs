//! The guard's kernel ([`crate::guard`]) on burn tensors of the plain CubeCL backend (the
//! guard runs outside autodiff). f32 only: the caller checks.

use burn::tensor::{Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::f32_tensor;
use crate::guard::{GuardInputs, GuardState, guard_step};

type Plain<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The guard's state as tensors: active (1.0 / 0.0), bad_step, bad_loss, bad_lr [R, 1];
/// bad_norms [R, P].
pub struct GuardTensors<R: CubeRuntime, I: IntElement, BT: BoolElement> {
    pub active: Tensor<Plain<R, I, BT>, 2>,
    pub bad_step: Tensor<Plain<R, I, BT>, 2>,
    pub bad_loss: Tensor<Plain<R, I, BT>, 2>,
    pub bad_lr: Tensor<Plain<R, I, BT>, 2>,
    pub bad_norms: Tensor<Plain<R, I, BT>, 2>,
}

fn contiguous<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: Tensor<Plain<R, I, BT>, 2>) -> CubeTensor<R> {
    into_contiguous(t.into_primitive().tensor())
}

/// The guard after step `step`: loss, lr, norm [R, 1] and squared [R, P] (each parameter's
/// squared gradient norm), in one launch ([`guard_step`]).
pub fn guard_step_tensors<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    state: GuardTensors<R, I, BT>,
    loss: Tensor<Plain<R, I, BT>, 2>,
    lr: Tensor<Plain<R, I, BT>, 2>,
    norm: Tensor<Plain<R, I, BT>, 2>,
    squared: Tensor<Plain<R, I, BT>, 2>,
    step: usize,
) -> GuardTensors<R, I, BT> {
    let squared = contiguous(squared);
    let [r, p] = squared.meta.shape.dims::<2>();
    let [active, bad_step, bad_loss, bad_lr, bad_norms] = [
        state.active,
        state.bad_step,
        state.bad_loss,
        state.bad_lr,
        state.bad_norms,
    ]
    .map(contiguous);
    let [loss, lr, norm] = [loss, lr, norm].map(contiguous);
    let st = GuardState {
        active: active.handle.clone(),
        bad_step: bad_step.handle.clone(),
        bad_loss: bad_loss.handle.clone(),
        bad_lr: bad_lr.handle.clone(),
        bad_norms: bad_norms.handle.clone(),
    };
    let x = GuardInputs {
        loss: loss.handle.clone(),
        lr: lr.handle.clone(),
        norm: norm.handle.clone(),
        squared: squared.handle.clone(),
    };
    let out = guard_step::<R>(&squared.client, r, p, &st, &x, step as f32);
    let wrap = |h, cols: usize| Tensor::from_primitive(TensorPrimitive::Float(f32_tensor(&squared, vec![r, cols], h)));
    GuardTensors {
        active: wrap(out.active, 1),
        bad_step: wrap(out.bad_step, 1),
        bad_loss: wrap(out.bad_loss, 1),
        bad_lr: wrap(out.bad_lr, 1),
        bad_norms: wrap(out.bad_norms, p),
    }
}
