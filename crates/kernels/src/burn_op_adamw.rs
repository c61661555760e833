//! The optimizer's row kernels ([`crate::adamw`]) on burn tensors of the plain CubeCL backend
//! (the optimizer runs outside autodiff, so there is no backward). f32 only: the caller checks.

use burn::tensor::{Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::adamw::{AdamRowInputs, AdamScalars, RowPart, RowShape, adamw_row, gather_row};
use crate::burn_common::{aligned_view, f32_tensor};

type Plain<R, I, BT> = CubeBackend<R, f32, I, BT>;

fn contiguous<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: Tensor<Plain<R, I, BT>, 2>) -> CubeTensor<R> {
    into_contiguous(t.into_primitive().tensor())
}

fn wrap<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: CubeTensor<R>) -> Tensor<Plain<R, I, BT>, 2> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// `parts` [R, n_k] laid out in one row per replica, part k from column `starts[k]` (in
/// increasing order, not overlapping), zeros elsewhere: [R, total]. At least one part; all
/// on one device.
pub fn gather_row_tensor<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    parts: Vec<Tensor<Plain<R, I, BT>, 2>>,
    starts: &[usize],
    total: usize,
) -> Tensor<Plain<R, I, BT>, 2> {
    let parts: Vec<CubeTensor<R>> = parts.into_iter().map(contiguous).collect();
    let r = parts[0].meta.shape.dims::<2>()[0];
    let laid: Vec<RowPart> = parts
        .iter()
        .zip(starts)
        .map(|(t, &start)| RowPart {
            handle: t.handle.clone(),
            start,
            len: t.meta.shape.dims::<2>()[1],
        })
        .collect();
    let row = gather_row::<R, f32>(&parts[0].client, r, &laid, total);
    wrap(f32_tensor(&parts[0], vec![r, total], row))
}

/// The entries of one replica's row as tensors that share its memory: `row` [1, total] ->
/// one [1, n] a (start, n) of `entries`, with no kernel ([`aligned_view`]). Why: at R = 1 the
/// optimizer's split of the row into the parameters was one slice kernel a parameter (about
/// 40 of a depth-4 step's 337 launches), and a step is bound by the host's work for each
/// launch (results/bench/NOTES.md, session 26).
///
/// None where a view cannot be made: more than one replica (a replica's entries are not
/// contiguous in [R, total]), a row that is not contiguous, an entry past the row's end, or
/// an entry whose first byte is not at the runtime's memory alignment.
pub fn row_views<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    row: Tensor<Plain<R, I, BT>, 2>,
    entries: &[(usize, usize)],
) -> Option<Vec<Tensor<Plain<R, I, BT>, 2>>> {
    let row = row.into_primitive().tensor();
    let [r, total] = row.meta.shape.dims::<2>();
    if r != 1 || row.meta.strides()[1] != 1 {
        return None;
    }
    entries
        .iter()
        .map(|&(start, n)| {
            (start + n <= total)
                .then(|| aligned_view(&row, start, vec![1, n]))
                .flatten()
                .map(wrap)
        })
        .collect()
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
