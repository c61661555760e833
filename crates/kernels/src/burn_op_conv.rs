//! The conv + SiLU kernels as one burn operation on the CubeCL backends, with its own
//! backward (as [`crate::burn_op`] is for the SSD). f32 only; the caller checks.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{Shape, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::{f32_tensor, register_grads};

use crate::conv_silu::{ConvInputs, ConvShape, conv_silu_backward, conv_silu_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The three inputs, contiguous; also the backward's saved state.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: ConvShape,
    x: CubeTensor<R>,    // [R, B, L, C]
    w: CubeTensor<R>,    // [R, C, K]
    bias: CubeTensor<R>, // [R, C]
}

impl<R: CubeRuntime> Saved<R> {
    fn new(x: CubeTensor<R>, w: CubeTensor<R>, bias: CubeTensor<R>) -> Self {
        let [replicas, batch, len, channels] = x.meta.shape.dims();
        let shape = ConvShape {
            replicas,
            batch,
            len,
            channels,
            taps: w.meta.shape.dims::<3>()[2],
        };
        Self {
            shape,
            x: into_contiguous(x),
            w: into_contiguous(w),
            bias: into_contiguous(bias),
        }
    }

    fn handles(&self) -> ConvInputs {
        ConvInputs {
            x: self.x.handle.clone(),
            w: self.w.handle.clone(),
            bias: self.bias.handle.clone(),
        }
    }

    fn new_tensor(&self, dims: Vec<usize>, handle: cubecl::server::Handle) -> CubeTensor<R> {
        f32_tensor(&self.x, dims, handle)
    }

    /// out [R, B, L, C]
    fn forward(&self) -> CubeTensor<R> {
        let s = self.shape;
        let out = conv_silu_forward::<R, f32>(&self.x.client, &s, &self.handles());
        self.new_tensor(vec![s.replicas, s.batch, s.len, s.channels], out)
    }
}

#[derive(Debug)]
struct ConvBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 3> for ConvBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let st = ops.state;
        let s = st.shape;
        let g = into_contiguous(grads.consume::<Cube<R, I, BT>>(&ops.node)); // [R, B, L, C]
        let k = conv_silu_backward::<R, f32>(&st.x.client, &s, &st.handles(), &g.handle);
        let groups = s.groups();
        // dw and dbias come per sequence group: sum over G, then drop that axis
        let dw = Cube::<R, I, BT>::float_sum_dim(
            st.new_tensor(vec![s.replicas, groups, s.channels, s.taps], k.dw_part),
            1,
        );
        let db = Cube::<R, I, BT>::float_sum_dim(st.new_tensor(vec![s.replicas, groups, s.channels], k.db_part), 1);
        let out = [
            st.new_tensor(vec![s.replicas, s.batch, s.len, s.channels], k.dx),
            Cube::<R, I, BT>::float_reshape(dw, Shape::from(vec![s.replicas, s.channels, s.taps])),
            Cube::<R, I, BT>::float_reshape(db, Shape::from(vec![s.replicas, s.channels])),
        ];
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), out, grads);
    }
}

/// SiLU(causal depthwise conv(x) + bias) [R, B, L, C] on an autodiff CubeCL backend, through
/// the fused kernels. f32 inputs (the caller checks). Shapes: x [R, B, L, C], w [R, C, K],
/// bias [R, C]. A frozen w (fig5b's all-ones kernel) gets no gradient, as with the plain ops.
pub fn conv_silu_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    x: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    bias: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let (x, w, bias) = (
        x.into_primitive().tensor(),
        w.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    );
    let nodes = [&x, &w, &bias].map(|t| t.node.clone());
    let st = Saved::new(x.primitive, w.primitive, bias.primitive);
    let out = st.forward();
    let out = match ConvBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(st, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// The same forward on the plain (non-autodiff) backend, for evaluation.
pub fn conv_silu_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: Tensor<Cube<R, I, BT>, 4>,
    w: Tensor<Cube<R, I, BT>, 3>,
    bias: Tensor<Cube<R, I, BT>, 2>,
) -> Tensor<Cube<R, I, BT>, 4> {
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let st = Saved::new(p(x.into_primitive()), p(w.into_primitive()), p(bias.into_primitive()));
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}
