//! The SSD kernels as one burn operation on the CubeCL backends, with its own backward: on
//! `Autodiff<CubeBackend<R, f32, ..>>` the forward is one kernel and the backward another,
//! in place of the ~60 plain ops (and their autodiff nodes) of `models::ssd::ssd_quadratic`.
//! f32 only: under mixed precision the model keeps dt and A in f32 and x, B, C in bf16.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::{f32_tensor, register_grads};

use crate::{SsdInputs, SsdShape, ssd_backward, ssd_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The six inputs, contiguous, on one device; also the backward's saved state.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: SsdShape,
    x: CubeTensor<R>,  // [R, B, L, E]
    dt: CubeTensor<R>, // [R, B, L]
    a: CubeTensor<R>,  // [R, 1]
    b: CubeTensor<R>,  // [R, B, L, N]
    c: CubeTensor<R>,  // [R, B, L, N]
    d: CubeTensor<R>,  // [R, 1]
}

impl<R: CubeRuntime> Saved<R> {
    fn handles(&self) -> SsdInputs {
        SsdInputs {
            x: self.x.handle.clone(),
            dt: self.dt.handle.clone(),
            a: self.a.handle.clone(),
            b: self.b.handle.clone(),
            c: self.c.handle.clone(),
            d: self.d.handle.clone(),
        }
    }

    fn new_tensor(&self, dims: Vec<usize>, handle: cubecl::server::Handle) -> CubeTensor<R> {
        f32_tensor(&self.x, dims, handle)
    }

    /// y [R, B, L, E]
    fn forward(&self) -> CubeTensor<R> {
        let s = self.shape;
        let y = ssd_forward::<R, f32>(&self.x.client, &s, &self.handles(), None);
        self.new_tensor(vec![s.replicas, s.batch, s.len, s.e], y)
    }
}

fn saved<R: CubeRuntime>(shape: SsdShape, p: [CubeTensor<R>; 6]) -> Saved<R> {
    let [x, dt, a, b, c, d] = p.map(into_contiguous);
    Saved {
        shape,
        x,
        dt,
        a,
        b,
        c,
        d,
    }
}

fn shape_of(x_dims: [usize; 4], n: usize) -> SsdShape {
    let [replicas, batch, len, e] = x_dims;
    SsdShape {
        replicas,
        batch,
        len,
        e,
        n,
    }
}

#[derive(Debug)]
struct SsdBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 6> for SsdBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let s = st.shape;
        let dy = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, B, L, E]
        let g = ssd_backward::<R, f32>(&st.x.client, &s, &st.handles(), &dy.handle, None);
        // dA and dD come per sequence: sum each replica's B of them into [R, 1]
        let per_replica = |h| {
            let t = st.new_tensor(vec![s.replicas, s.batch], h);
            Cube::<R, I, BT>::float_sum_dim(t, 1)
        };
        let out = [
            st.new_tensor(vec![s.replicas, s.batch, s.len, s.e], g.dx),
            st.new_tensor(vec![s.replicas, s.batch, s.len], g.ddt),
            per_replica(g.da_part),
            st.new_tensor(vec![s.replicas, s.batch, s.len, s.n], g.db),
            st.new_tensor(vec![s.replicas, s.batch, s.len, s.n], g.dc),
            per_replica(g.dd_part),
        ];
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), out, grads);
    }
}

/// y = SSD(x, dt, A, B, C, D) [R, B, L, E] on an autodiff CubeCL backend, through the fused
/// kernels. Every input must be f32 (the caller checks: `models::ssd` falls back to plain ops).
/// Shapes: x [R, B, L, E], dt [R, B, L], a [R, 1], b and c [R, B, L, N], d [R, 1].
#[allow(clippy::type_complexity)]
pub fn ssd_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    x: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    dt: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    a: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    b: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    c: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    d: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let shape = shape_of(x.dims(), b.dims()[3]);
    let (x, dt, a, b, c, d) = (
        x.into_primitive().tensor(),
        dt.into_primitive().tensor(),
        a.into_primitive().tensor(),
        b.into_primitive().tensor(),
        c.into_primitive().tensor(),
        d.into_primitive().tensor(),
    );
    let nodes = [&x, &dt, &a, &b, &c, &d].map(|t| t.node.clone());
    let st = saved(
        shape,
        [
            x.primitive,
            dt.primitive,
            a.primitive,
            b.primitive,
            c.primitive,
            d.primitive,
        ],
    );
    let y = st.forward();
    let out = match SsdBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(st, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// The same forward on the plain (non-autodiff) backend, for evaluation.
pub fn ssd_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: Tensor<Cube<R, I, BT>, 4>,
    dt: Tensor<Cube<R, I, BT>, 3>,
    a: Tensor<Cube<R, I, BT>, 2>,
    b: Tensor<Cube<R, I, BT>, 4>,
    c: Tensor<Cube<R, I, BT>, 4>,
    d: Tensor<Cube<R, I, BT>, 2>,
) -> Tensor<Cube<R, I, BT>, 4> {
    let shape = shape_of(x.dims(), b.dims()[3]);
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let st = saved(
        shape,
        [
            p(x.into_primitive()),
            p(dt.into_primitive()),
            p(a.into_primitive()),
            p(b.into_primitive()),
            p(c.into_primitive()),
            p(d.into_primitive()),
        ],
    );
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}
