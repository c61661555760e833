//! The SSD kernels as one burn operation on the CubeCL backends, with its own backward: on
//! `Autodiff<CubeBackend<R, f32, ..>>` the forward is one kernel and the backward another,
//! in place of the ~60 plain ops (and their autodiff nodes) of `models::ssd::ssd_quadratic`,
//! and of the copies that slicing x, B and C out of the block's xbc costs both ways.
//! f32 only: under mixed precision the model keeps dt and A in f32 and x, B, C in bf16.

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

use crate::burn_common::{autodiff_op, f32_tensor, register_grads, sum_per_replica};

use crate::{SsdInputs, SsdShape, ssd_backward, ssd_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The four inputs, contiguous, on one device; also the backward's saved state, with S
/// [R, B, L, L] where the staged forward kept it (crate::SSD_KEEP_SCORES).
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: SsdShape,
    xbc: CubeTensor<R>, // [R, B, L, E + 2N]
    dt: CubeTensor<R>,  // [R, B, L]
    a: CubeTensor<R>,   // [R, 1]
    d: CubeTensor<R>,   // [R, 1]
    scores: Option<cubecl::server::Handle>,
}

impl<R: CubeRuntime> Saved<R> {
    /// `e` splits xbc's rows: x is its first E columns, B and C the two halves of the rest.
    fn new(e: usize, p: [CubeTensor<R>; 4]) -> Self {
        let [xbc, dt, a, d] = p.map(into_contiguous);
        let [replicas, batch, len, row] = xbc.meta.shape.dims();
        assert!(
            row > e && (row - e).is_multiple_of(2),
            "xbc rows of {row} do not split as E = {e} plus 2N"
        );
        let shape = SsdShape {
            replicas,
            batch,
            len,
            e,
            n: (row - e) / 2,
        };
        Self {
            shape,
            xbc,
            dt,
            a,
            d,
            scores: None,
        }
    }

    fn handles(&self) -> SsdInputs {
        SsdInputs {
            xbc: self.xbc.handle.clone(),
            dt: self.dt.handle.clone(),
            a: self.a.handle.clone(),
            d: self.d.handle.clone(),
        }
    }

    fn new_tensor(&self, dims: Vec<usize>, handle: cubecl::server::Handle) -> CubeTensor<R> {
        f32_tensor(&self.xbc, dims, handle)
    }

    /// y [R, B, L, E]; with `keep`, S for the backward into `self.scores` where the staged
    /// kernel runs.
    fn forward(&mut self, keep: bool) -> CubeTensor<R> {
        let s = self.shape;
        let out = ssd_forward::<R, f32>(&self.xbc.client, &s, &self.handles(), crate::ssd_units().0, keep);
        self.scores = out.scores;
        self.new_tensor(vec![s.replicas, s.batch, s.len, s.e], out.y)
    }
}

#[derive(Debug)]
struct SsdBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 4> for SsdBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let s = st.shape;
        let dy = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, B, L, E]
        let units = crate::ssd_units().1;
        let g = ssd_backward::<R, f32>(&st.xbc.client, &s, &st.handles(), &dy.handle, units, st.scores.as_ref());
        // dA and dD come per sequence: sum each replica's B of them into [R, 1]
        let per_replica = |h| sum_per_replica::<R, I, BT>(st.new_tensor(vec![s.replicas, s.batch], h));
        let out = [
            st.new_tensor(vec![s.replicas, s.batch, s.len, s.row()], g.dxbc),
            st.new_tensor(vec![s.replicas, s.batch, s.len], g.ddt),
            per_replica(g.da_part),
            per_replica(g.dd_part),
        ];
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), out, grads);
    }
}

/// y = SSD(x, dt, A, B, C, D) [R, B, L, E] on an autodiff CubeCL backend, through the fused
/// kernels, with x, B and C read in place from the block's xbc [R, B, L, E + 2N] (x its first
/// `e` columns, then B, then C): neither the three slices nor their gradients are copied
/// apart. Every input must be f32 (the caller checks: `models::ssd` falls back to plain ops).
/// Shapes: dt [R, B, L], a [R, 1], d [R, 1].
pub fn ssd_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    xbc: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    dt: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    a: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    d: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    e: usize,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let inputs = [
        xbc.into_primitive().tensor(),
        dt.into_primitive().tensor(),
        a.into_primitive().tensor(),
        d.into_primitive().tensor(),
    ];
    autodiff_op(SsdBackward, inputs, |inner| {
        let mut st = Saved::new(e, inner);
        let y = st.forward(crate::SSD_KEEP_SCORES.load(core::sync::atomic::Ordering::Relaxed));
        (st, y)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation.
pub fn ssd_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    xbc: Tensor<Cube<R, I, BT>, 4>,
    dt: Tensor<Cube<R, I, BT>, 3>,
    a: Tensor<Cube<R, I, BT>, 2>,
    d: Tensor<Cube<R, I, BT>, 2>,
    e: usize,
) -> Tensor<Cube<R, I, BT>, 4> {
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let mut st = Saved::new(
        e,
        [
            p(xbc.into_primitive()),
            p(dt.into_primitive()),
            p(a.into_primitive()),
            p(d.into_primitive()),
        ],
    );
    Tensor::from_primitive(TensorPrimitive::Float(st.forward(false)))
}
