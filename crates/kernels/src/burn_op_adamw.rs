//! The optimizer's row kernels ([`crate::adamw`]) on burn tensors of the plain CubeCL backend
//! (the optimizer runs outside autodiff, so there is no backward). f32 only: the caller checks.

use burn::tensor::{Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::adamw::{AdamRowInputs, AdamScalars, RowShape, adamw_row, gather_row};
use crate::burn_common::f32_tensor;

type Plain<R, I, BT> = CubeBackend<R, f32, I, BT>;

fn contiguous<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: Tensor<Plain<R, I, BT>, 2>) -> CubeTensor<R> {
    into_contiguous(t.into_primitive().tensor())
}

fn wrap<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: CubeTensor<R>) -> Tensor<Plain<R, I, BT>, 2> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// `parts` [R, n_k] laid end to end in one row per replica, zeros after: [R, total].
/// At least one part; all on one device.
pub fn gather_row_tensor<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    parts: Vec<Tensor<Plain<R, I, BT>, 2>>,
    total: usize,
) -> Tensor<Plain<R, I, BT>, 2> {
    let parts: Vec<CubeTensor<R>> = parts.into_iter().map(contiguous).collect();
    let r = parts[0].meta.shape.dims::<2>()[0];
    let handles: Vec<_> = parts
        .iter()
        .map(|t| (t.handle.clone(), t.meta.shape.dims::<2>()[1]))
        .collect();
    let row = gather_row::<R, f32>(&parts[0].client, r, &handles, total);
    wrap(f32_tensor(&parts[0], vec![r, total], row))
}

/// The rows of one AdamW update, on the device: p, g (unclipped), m, v [R, P]; lr, norm and
/// active (1.0 or 0.0) [R, 1].
pub struct AdamRowTensors<R: CubeRuntime, I: IntElement, BT: BoolElement> {
    pub p: Tensor<Plain<R, I, BT>, 2>,
    pub g: Tensor<Plain<R, I, BT>, 2>,
    pub m: Tensor<Plain<R, I, BT>, 2>,
    pub v: Tensor<Plain<R, I, BT>, 2>,
    pub lr: Tensor<Plain<R, I, BT>, 2>,
    pub norm: Tensor<Plain<R, I, BT>, 2>,
    pub active: Tensor<Plain<R, I, BT>, 2>,
}

/// [p, m, v] after clipping g per replica and one AdamW update ([`crate::adamw::adamw_row`]).
pub fn adamw_row_tensors<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: AdamRowTensors<R, I, BT>,
    s: &AdamScalars,
) -> [Tensor<Plain<R, I, BT>, 2>; 3] {
    let p = contiguous(x.p);
    let [r, row_len] = p.meta.shape.dims::<2>();
    let [g, m, v, lr, norm, active] = [x.g, x.m, x.v, x.lr, x.norm, x.active].map(contiguous);
    let inputs = AdamRowInputs {
        p: p.handle.clone(),
        g: g.handle.clone(),
        m: m.handle.clone(),
        v: v.handle.clone(),
        lr: lr.handle.clone(),
        norm: norm.handle.clone(),
        active: active.handle.clone(),
    };
    let shape = RowShape { replicas: r, row_len };
    adamw_row(&p.client, &shape, &inputs, s).map(|h| wrap(f32_tensor(&p, vec![r, row_len], h)))
}
