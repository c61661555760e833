//! The gated-RMSNorm kernels as one burn operation on the CubeCL backends, with its own
//! backward (as [`crate::burn_op_conv`] is for the conv), and the same kernels without the
//! gate as the plain RMSNorm. f32 only; the caller checks.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{Shape, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};

use crate::burn_common::{autodiff_op, f32_tensor, register_grads, sum_dim1};
use crate::gated_norm::{NormInputs, NormShape, gated_norm_backward, gated_norm_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The inputs, contiguous (z only with the gate); also the backward's saved state.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: NormShape,
    dims: [usize; 4], // y's and z's [R, B, L, E], which the output and their gradients take
    y: CubeTensor<R>,
    z: Option<CubeTensor<R>>,
    w: CubeTensor<R>, // [R, E]
    eps: f32,
}

impl<R: CubeRuntime> Saved<R> {
    fn new(y: CubeTensor<R>, z: Option<CubeTensor<R>>, w: CubeTensor<R>, eps: f32) -> Self {
        let dims: [usize; 4] = y.meta.shape.dims();
        if let Some(z) = &z {
            assert_eq!(dims, z.meta.shape.dims::<4>(), "gated norm: y and z differ in shape");
        }
        let [replicas, b, l, e] = dims;
        Self {
            shape: NormShape {
                replicas,
                tokens: b * l,
                e,
                gated: z.is_some(),
            },
            dims,
            y: into_contiguous(y),
            z: z.map(into_contiguous),
            w: into_contiguous(w),
            eps,
        }
    }

    fn handles(&self) -> NormInputs {
        NormInputs {
            y: self.y.handle.clone(),
            z: self.z.as_ref().map(|z| z.handle.clone()),
            w: self.w.handle.clone(),
        }
    }

    fn new_tensor(&self, dims: Vec<usize>, handle: cubecl::server::Handle) -> CubeTensor<R> {
        f32_tensor(&self.y, dims, handle)
    }

    /// out [R, B, L, E]
    fn forward(&self) -> CubeTensor<R> {
        let out = gated_norm_forward::<R, f32>(&self.y.client, &self.shape, &self.handles(), self.eps);
        self.new_tensor(self.dims.to_vec(), out)
    }

    /// The kernels' gradients: dy [R, B, L, E], dz (with the gate), dw [R, E].
    fn backward<I: IntElement, BT: BoolElement>(
        &self,
        g: CubeTensor<R>,
    ) -> (CubeTensor<R>, Option<CubeTensor<R>>, CubeTensor<R>) {
        let s = self.shape;
        let g = into_contiguous(g); // [R, B, L, E]
        let k = gated_norm_backward::<R, f32>(&self.y.client, &s, &self.handles(), &g.handle, self.eps);
        // dw comes per token group: sum over G, then drop that axis
        let dw = sum_dim1::<R, I, BT>(self.new_tensor(vec![s.replicas, s.groups(), s.e], k.dw_part));
        (
            self.new_tensor(self.dims.to_vec(), k.dy),
            k.dz.map(|dz| self.new_tensor(self.dims.to_vec(), dz)),
            Cube::<R, I, BT>::float_reshape(dw, Shape::from(vec![s.replicas, s.e])),
        )
    }
}

/// The gated form's backward: parents y, z, w.
#[derive(Debug)]
struct NormBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 3> for NormBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (dy, dz, dw) = ops.state.backward::<I, BT>(grads.consume::<Cube<R, I, BT>>(&ops.node));
        let out = [dy, dz.expect("the gated norm's backward gives dz"), dw];
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), out, grads);
    }
}

/// The plain RMSNorm's backward: parents x, w.
#[derive(Debug)]
struct RmsBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 2> for RmsBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (dx, _, dw) = ops.state.backward::<I, BT>(grads.consume::<Cube<R, I, BT>>(&ops.node));
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), [dx, dw], grads);
    }
}

/// RMSNorm(y * SiLU(z)) * w [R, B, L, E] on an autodiff CubeCL backend, through the fused
/// kernels. f32 inputs and E in 1..=[`crate::gated_norm::MAX_E`] (the caller checks).
/// Shapes: y, z [R, B, L, E], w [R, E].
pub fn gated_norm_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    y: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    z: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    eps: f32,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let inputs = [
        y.into_primitive().tensor(),
        z.into_primitive().tensor(),
        w.into_primitive().tensor(),
    ];
    autodiff_op(NormBackward, inputs, |[y, z, w]| {
        let st = Saved::new(y, Some(z), w, eps);
        let out = st.forward();
        (st, out)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn gated_norm_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    y: Tensor<Cube<R, I, BT>, 4>,
    z: Tensor<Cube<R, I, BT>, 4>,
    w: Tensor<Cube<R, I, BT>, 2>,
    eps: f32,
) -> Tensor<Cube<R, I, BT>, 4> {
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let st = Saved::new(
        p(y.into_primitive()),
        Some(p(z.into_primitive())),
        p(w.into_primitive()),
        eps,
    );
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}

/// RMSNorm(x) * w [R, B, L, D] on an autodiff CubeCL backend, through the same kernels
/// without the gate. f32 inputs and D in 1..=[`crate::gated_norm::MAX_E`] (the caller
/// checks). Shapes: x [R, B, L, D], w [R, D].
pub fn rms_norm_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    x: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
    eps: f32,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let inputs = [x.into_primitive().tensor(), w.into_primitive().tensor()];
    autodiff_op(RmsBackward, inputs, |[x, w]| {
        let st = Saved::new(x, None, w, eps);
        let out = st.forward();
        (st, out)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn rms_norm_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: Tensor<Cube<R, I, BT>, 4>,
    w: Tensor<Cube<R, I, BT>, 2>,
    eps: f32,
) -> Tensor<Cube<R, I, BT>, 4> {
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let st = Saved::new(p(x.into_primitive()), None, p(w.into_primitive()), eps);
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}
