//! Every matmul of the models and the optimizer goes through [`matmul`]: burn's own, or,
//! with `MSYM_F32_MATMUL=1` on a CubeCL backend, cubek's SimpleUnit kernel in true f32
//! (kernels::burn_op_matmul, with its own backward). MSYM_MATMUL_KERNEL (models::launch_shape,
//! an A/B setting) turns the same switch on with another cubek kernel: then the switch's
//! count (the bench's "f32 matmul on, N calls") counts that kernel's products, and the bench's
//! "matmul kernel" names it.
//!
//! Why a switch: on tensor-core GPUs burn's matmul rounds f32 inputs to TF32 (measured on an
//! H200 in session 15, results/bench/session15-h200-2026-11-27; by cubek's source, on every
//! card from sm_80), so the GPU runs of this harness multiplied in TF32 while PyTorch's
//! default is f32. With the switch on, a run is f32 throughout, as issue 8's spot check
//! asks of its R = 1 runs, and TF32's share in a result can be measured by training the
//! same cells both ways. **Off by default**: slower
//! (the CUDA cores instead of the tensor cores), and not yet run on a GPU. The CPU backend
//! multiplies in f32 anyway and ignores it. `matmul_probe` goes through here too, so run
//! manifests and bench reports say what the products were.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::switch::Switch;

static SWITCH: Switch = Switch::off_by_default("MSYM_F32_MATMUL");

/// Turns the f32 matmul on or off for this process (overrides MSYM_F32_MATMUL).
pub fn set_f32_matmul(on: bool) {
    SWITCH.set(on);
}

/// Whether the f32 matmul is allowed: [`set_f32_matmul`], else MSYM_F32_MATMUL, else off.
pub fn f32_matmul_on() -> bool {
    SWITCH.on()
}

/// Products that ran the f32 kernel so far in this process.
pub fn f32_matmul_calls() -> usize {
    SWITCH.calls()
}

/// a.matmul(b): through cubek's SimpleUnit kernel in f32 where the switch, the backend (a
/// CubeCL one) and the dtypes (f32) allow it, else burn's matmul.
/// Shapes: a [R, G, M, K], b [R or 1, G or 1, K, N] -> [R, G, M, N] (b's batch dims
/// broadcast where they are 1; either side may be a transposed view).
pub fn matmul<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "cubecl")]
    if let Some(out) = imp::try_f32(&a, &b) {
        return out;
    }
    a.matmul(b)
}

/// [`matmul`] for [.., M, K] x [.., K, N] of 3 dims: a [G, M, K], b [G or 1, K, N] -> [G, M, N].
pub fn matmul3<B: Backend>(a: Tensor<B, 3>, b: Tensor<B, 3>) -> Tensor<B, 3> {
    matmul(a.unsqueeze_dim::<4>(0), b.unsqueeze_dim::<4>(0)).squeeze_dim::<3>(0)
}

#[cfg(feature = "cubecl")]
mod imp {
    use burn::tensor::backend::Backend;
    use burn::tensor::{DType, Tensor};
    use burn_cubecl::CubeRuntime;
    use burn_cubecl::element::{BoolElement, IntElement};

    use super::SWITCH;
    use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};

    /// a: [R, G, M, K], b: [R or 1, G or 1, K, N].
    struct Product<'a, B: Backend> {
        a: &'a Tensor<B, 4>,
        b: &'a Tensor<B, 4>,
    }

    impl<B: Backend> FusedOp<B> for Product<'_, B> {
        fn dtypes(&self) -> Vec<DType> {
            vec![self.a.dtype(), self.b.dtype()]
        }

        fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
            kernels::burn_op_matmul::matmul_autodiff::<R, I, BT, _>(cast(self.a.clone()), cast(self.b.clone()))
        }

        fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
            kernels::burn_op_matmul::matmul_inference::<R, I, BT>(cast(self.a.clone()), cast(self.b.clone()))
        }
    }

    /// The product through the f32 kernel, or None (the caller then runs burn's matmul).
    pub(super) fn try_f32<B: Backend>(a: &Tensor<B, 4>, b: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
        dispatch(&SWITCH, &Product { a, b })
    }
}
