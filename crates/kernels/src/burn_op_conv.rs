//! The conv + SiLU kernels as one burn operation on the CubeCL backends, with its own
//! backward (as [`crate::burn_op`] is for the SSD). f32 only; the caller checks.

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

use cubecl::server::Handle;

use crate::burn_common::{autodiff_op, f32_tensor, register_grads, sum_dim1};

use crate::conv_silu::{ConvInputs, ConvShape, conv_silu_backward, conv_silu_forward};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// The three inputs: w and bias contiguous, x contiguous or in padded token rows
/// ([`token_rows`]); also the backward's saved state.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    shape: ConvShape,
    x: CubeTensor<R>, // [R, B, L, C] or [R, A, T, C] with A T = B L, token rows x_row apart
    x_row: usize,
    x_dims: [usize; 4],  // x's own shape, which its gradient takes
    w: CubeTensor<R>,    // [R, C, K]
    bias: CubeTensor<R>, // [R, C]
}

impl<R: CubeRuntime> Saved<R> {
    /// `len` tokens a sequence: x [R, A, T, C] holds B = A T / len sequences.
    fn new(x: CubeTensor<R>, len: usize, w: CubeTensor<R>, bias: CubeTensor<R>) -> Self {
        let x_dims: [usize; 4] = x.meta.shape.dims();
        let [replicas, a, t, channels] = x_dims;
        assert!(
            len > 0 && (a * t).is_multiple_of(len),
            "conv: {a} x {t} tokens a replica are not whole sequences of {len}"
        );
        let batch = a * t / len;
        let shape = ConvShape {
            replicas,
            batch,
            len,
            channels,
            taps: w.meta.shape.dims::<3>()[2],
        };
        let (x, x_row) = match token_rows(&x_dims, x.meta.strides()) {
            Some(row) => (x, row),
            None => (into_contiguous(x), channels),
        };
        Self {
            shape,
            x,
            x_row,
            x_dims,
            w: into_contiguous(w),
            bias: into_contiguous(bias),
        }
    }

    fn handles(&self) -> ConvInputs {
        ConvInputs {
            x: self.x.handle.clone(),
            w: self.w.handle.clone(),
            bias: self.bias.handle.clone(),
            x_row: self.x_row,
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

/// The distance between x's token rows where the kernels can read x as it lies: the last
/// dim (channels) at unit stride and every other dim as one run of rows `row >= C` apart
/// (contiguous, CUDA's pitched rows, or channels narrowed out of a wider tensor); None
/// otherwise. dims and strides of at least 2 dims (the conv's [R, B, L, C], the loss's
/// [R, B, V]).
pub(crate) fn token_rows(dims: &[usize], strides: &[usize]) -> Option<usize> {
    let n = dims.len();
    let (c, row) = (dims[n - 1], strides[n - 2]);
    let one_run = (0..n - 2).all(|i| strides[i] == dims[i + 1] * strides[i + 1]);
    (strides[n - 1] == 1 && row >= c && one_run).then_some(row)
}

/// dw [R, C, K] and dbias [R, C] of a conv backward, whose kernel gives them as partial sums
/// per sequence group (`dw_part` [R, G, C, K], `db_part` [R, G, C]): summed over the G groups,
/// then that axis dropped. Tensors on `like`'s client.
pub(crate) fn summed_taps_and_bias<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    like: &CubeTensor<R>,
    s: &ConvShape,
    dw_part: &Handle,
    db_part: &Handle,
) -> [CubeTensor<R>; 2] {
    let (r, g, c) = (s.replicas, s.groups(), s.channels);
    let dw = sum_dim1::<R, I, BT>(f32_tensor(like, vec![r, g, c, s.taps], dw_part.clone()));
    let db = sum_dim1::<R, I, BT>(f32_tensor(like, vec![r, g, c], db_part.clone()));
    [
        Cube::<R, I, BT>::float_reshape(dw, Shape::from(vec![r, c, s.taps])),
        Cube::<R, I, BT>::float_reshape(db, Shape::from(vec![r, c])),
    ]
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
        let [dw, db] = summed_taps_and_bias::<R, I, BT>(&st.x, &s, &k.dw_part, &k.db_part);
        let dx = st.new_tensor(st.x_dims.to_vec(), k.dx); // x's own shape, the same token order
        let out = [dx, dw, db];
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), out, grads);
    }
}

/// SiLU(causal depthwise conv(x) + bias) [R, B, L, C] on an autodiff CubeCL backend, through
/// the fused kernels. f32 inputs (the caller checks). Shapes: x [R, B, L, C], or any
/// [R, A, T, C] holding the same tokens in the same order (A T = B L, sequences of `len`
/// tokens), such as a grouped product [R, G, M/G, C] that a reshape to [R, B, L, C] would
/// copy on CUDA (it pitches the product's rows); x's gradient takes x's shape. w [R, C, K],
/// bias [R, C]. A frozen w (fig5b's all-ones kernel) gets no gradient, as with the plain ops.
pub fn conv_silu_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    x: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    len: usize,
    w: Tensor<Autodiff<Cube<R, I, BT>, C>, 3>,
    bias: Tensor<Autodiff<Cube<R, I, BT>, C>, 2>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    let inputs = [
        x.into_primitive().tensor(),
        w.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    ];
    autodiff_op(ConvBackward, inputs, |[x, w, bias]| {
        let st = Saved::new(x, len, w, bias);
        let out = st.forward();
        (st, out)
    })
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn conv_silu_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    x: Tensor<Cube<R, I, BT>, 4>,
    len: usize,
    w: Tensor<Cube<R, I, BT>, 3>,
    bias: Tensor<Cube<R, I, BT>, 2>,
) -> Tensor<Cube<R, I, BT>, 4> {
    let p = |t: TensorPrimitive<Cube<R, I, BT>>| t.tensor();
    let st = Saved::new(
        p(x.into_primitive()),
        len,
        p(w.into_primitive()),
        p(bias.into_primitive()),
    );
    Tensor::from_primitive(TensorPrimitive::Float(st.forward()))
}

#[cfg(test)]
mod tests {
    use super::token_rows;

    #[test]
    fn token_rows_takes_contiguous_padded_and_narrowed_rows_only() {
        // [R, B, L, C] = [2, 3, 4, 5]
        assert_eq!(token_rows(&[2, 3, 4, 5], &[60, 20, 5, 1]), Some(5));
        // CUDA's pitched rows: 5 floats padded to 8
        assert_eq!(token_rows(&[2, 3, 4, 5], &[96, 32, 8, 1]), Some(8));
        // rows shorter than C overlap; channels not at unit stride; a permuted batch
        assert_eq!(token_rows(&[2, 3, 4, 5], &[48, 16, 4, 1]), None);
        assert_eq!(token_rows(&[2, 3, 4, 5], &[120, 40, 10, 2]), None);
        assert_eq!(token_rows(&[2, 3, 4, 5], &[60, 5, 15, 1]), None);
    }
}
