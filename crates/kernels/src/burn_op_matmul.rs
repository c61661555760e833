//! The matmul as one burn operation on the CubeCL backends with its own backward, launching a
//! cubek kernel of our choice ([`MatmulKernel`]): by default cubek's SimpleUnit, in true f32.
//!
//! Why: burn 0.21 sends every float matmul to cubek's `Strategy::Auto`, a tensor-core kernel
//! that rounds f32 inputs to TF32 (10-bit mantissa) wherever the card has TF32: measured on
//! an H200 in session 15 (results/bench/session15-h200-2026-11-27), relative RMS error 2.6e-4
//! against 1e-7 for f32 inputs. burn has no switch for it. This operation launches cubek's
//! `SimpleUnit` kernel instead (one FMA per product term on the CUDA cores, f32 throughout),
//! for runs that must be f32 the way PyTorch's default is (issue 8's spot check: R = 1 in
//! f32). Slower than the tensor cores; f32 tensors only, the caller checks.
//!
//! [`set_matmul_kernel`] (msym reads MSYM_MATMUL_KERNEL) picks another cubek kernel for A/B runs
//! of the products' speed: burn's own choice ([`MatmulKernel::CyclicCmma`], the same launch as
//! burn's, so the control of such a run) or its PTX-mma and double-buffered relatives. Those
//! round f32 inputs to TF32 as burn's does, but may sum in another order: other bits.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{DType, Shape, Tensor, TensorPrimitive};
use burn_cubecl::element::{BoolElement, IntElement};
use burn_cubecl::kernel::matmul::init_matmul_output;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};
use cubek::matmul::definition::{MatmulElems, MatmulGlobalElems};
use cubek::matmul::launch::{Strategy, launch_ref};
use cubek::std::InputBinding;

use crate::burn_common::{autodiff_op, register_grads};

/// The inner (non-autodiff) backend.
type Cube<R, I, BT> = CubeBackend<R, f32, I, BT>;

/// Which cubek kernel the operation launches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulKernel {
    /// SimpleUnit: one FMA per product term on the CUDA cores, f32 throughout.
    F32Unit,
    /// SimpleCyclicCmma: what burn's `Strategy::Auto` launches first (TF32 on tensor cores).
    CyclicCmma,
    /// SimpleCyclicMma: the same tiling on PTX mma instructions.
    CyclicMma,
    /// DoubleCyclicCmma: the cyclic tiling with double-buffered stages.
    DoubleCyclicCmma,
    /// DoubleCyclicMma.
    DoubleCyclicMma,
}

impl MatmulKernel {
    /// Every kernel, by its name.
    pub const ALL: [(&'static str, MatmulKernel); 5] = [
        ("f32-unit", MatmulKernel::F32Unit),
        ("cyclic-cmma", MatmulKernel::CyclicCmma),
        ("cyclic-mma", MatmulKernel::CyclicMma),
        ("double-cyclic-cmma", MatmulKernel::DoubleCyclicCmma),
        ("double-cyclic-mma", MatmulKernel::DoubleCyclicMma),
    ];

    /// The kernel of a name in [`MatmulKernel::ALL`].
    pub fn from_name(name: &str) -> Option<MatmulKernel> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    /// Its name in [`MatmulKernel::ALL`].
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, k)| *k == self).map_or("?", |(n, _)| n)
    }

    fn strategy(self) -> Strategy {
        match self {
            MatmulKernel::F32Unit => Strategy::SimpleUnit(Default::default()),
            MatmulKernel::CyclicCmma => Strategy::SimpleCyclicCmma(Default::default()),
            MatmulKernel::CyclicMma => Strategy::SimpleCyclicMma(Default::default()),
            MatmulKernel::DoubleCyclicCmma => Strategy::DoubleCyclicCmma(Default::default()),
            MatmulKernel::DoubleCyclicMma => Strategy::DoubleCyclicMma(Default::default()),
        }
    }
}

/// The kernel [`set_matmul_kernel`] chose, as its index in [`MatmulKernel::ALL`] (0: F32Unit).
static KERNEL: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Sets the kernel the operation launches from now on in this process (products already
/// recorded keep theirs for their backward).
pub fn set_matmul_kernel(kernel: MatmulKernel) {
    let at = MatmulKernel::ALL.iter().position(|(_, k)| *k == kernel).unwrap_or(0);
    KERNEL.store(at, core::sync::atomic::Ordering::Relaxed);
}

/// The kernel the operation launches ([`MatmulKernel::F32Unit`] unless set).
pub fn matmul_kernel() -> MatmulKernel {
    MatmulKernel::ALL[KERNEL.load(core::sync::atomic::Ordering::Relaxed)].1
}

/// a [.., M, K] x b [.., K, N] -> [.., M, N] by `kernel`; the batch dims broadcast where one
/// side has 1 (as burn's matmul), and a transposed view (a swap of the last two dims) is read
/// as it lies.
pub fn matmul_as<R: CubeRuntime>(kernel: MatmulKernel, a: CubeTensor<R>, b: CubeTensor<R>) -> CubeTensor<R> {
    assert!(
        a.dtype == DType::F32 && b.dtype == DType::F32,
        "matmul_as: f32 tensors only"
    );
    let out = init_matmul_output(&a, &b, DType::F32);
    let client = out.client.clone();
    let f32_type = DType::F32.into();
    let mut dtypes = MatmulElems::from_globals(&MatmulGlobalElems {
        lhs: f32_type,
        rhs: f32_type,
        out: f32_type,
    });
    launch_ref(
        &kernel.strategy(),
        &client,
        InputBinding::new(a.binding(), f32_type),
        InputBinding::new(b.binding(), f32_type),
        out.clone().binding(),
        &mut dtypes,
    )
    .unwrap_or_else(|e| panic!("matmul_as: cubek refused the launch of {}: {e:?}", kernel.name()));
    out
}

/// The last two dims swapped (a view: burn's swap_dims moves strides, not data).
fn transposed<R: CubeRuntime, I: IntElement, BT: BoolElement>(t: CubeTensor<R>) -> CubeTensor<R> {
    let n = t.meta.shape.num_dims();
    Cube::<R, I, BT>::float_swap_dims(t, n - 2, n - 1)
}

/// `g` summed over the batch dims where `like` has 1 and `g` more (the inverse of the
/// forward's broadcast), so that an input's gradient has its shape.
fn unbroadcast<R: CubeRuntime, I: IntElement, BT: BoolElement>(mut g: CubeTensor<R>, like: &[usize]) -> CubeTensor<R> {
    let dims = g.meta.shape.dims::<4>();
    for (d, (&have, &want)) in dims.iter().zip(like).enumerate().take(2) {
        if want == 1 && have != 1 {
            g = Cube::<R, I, BT>::float_sum_dim(g, d);
        }
    }
    g
}

/// The inputs, as the forward read them; also the backward's state.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime> {
    a: CubeTensor<R>, // [R, G, M, K]
    b: CubeTensor<R>, // [R or 1, G or 1, K, N]
    kernel: MatmulKernel,
}

#[derive(Debug)]
struct MatmulBackward;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<Cube<R, I, BT>, 2> for MatmulBackward {
    type State = Saved<R>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let Saved { a, b, kernel } = ops.state;
        let (a_dims, b_dims) = (a.meta.shape.dims::<4>(), b.meta.shape.dims::<4>());
        let g = grads.consume::<Cube<R, I, BT>>(&ops.node); // [R, G, M, N]
        // dA = dC . B^T [R, G, M, K]; dB = A^T . dC [R, G, K, N], summed where B broadcast
        let da = matmul_as(kernel, g.clone(), transposed::<R, I, BT>(b));
        let db = matmul_as(kernel, transposed::<R, I, BT>(a), g);
        let da = unbroadcast::<R, I, BT>(da, &a_dims);
        let db = unbroadcast::<R, I, BT>(db, &b_dims);
        let da = Cube::<R, I, BT>::float_reshape(da, Shape::from(a_dims.to_vec()));
        let db = Cube::<R, I, BT>::float_reshape(db, Shape::from(b_dims.to_vec()));
        register_grads::<Cube<R, I, BT>, _>(ops.parents.map(|p| p.map(|n| n.id)), [da, db], grads);
    }
}

/// a.matmul(b) on an autodiff CubeCL backend by [`matmul_kernel`] both ways (f32 unless set).
/// Shapes: a [R, G, M, K], b [R or 1, G or 1, K, N] -> [R, G, M, N].
pub fn matmul_autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement, C: CheckpointStrategy>(
    a: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
    b: Tensor<Autodiff<Cube<R, I, BT>, C>, 4>,
) -> Tensor<Autodiff<Cube<R, I, BT>, C>, 4> {
    autodiff_op(
        MatmulBackward,
        [a.into_primitive().tensor(), b.into_primitive().tensor()],
        |[a, b]| {
            let kernel = matmul_kernel();
            let out = matmul_as(kernel, a.clone(), b.clone());
            (Saved { a, b, kernel }, out)
        },
    )
}

/// The same forward on the plain (non-autodiff) backend, for evaluation (shapes as there).
pub fn matmul_inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(
    a: Tensor<Cube<R, I, BT>, 4>,
    b: Tensor<Cube<R, I, BT>, 4>,
) -> Tensor<Cube<R, I, BT>, 4> {
    let out = matmul_as(
        matmul_kernel(),
        a.into_primitive().tensor(),
        b.into_primitive().tensor(),
    );
    Tensor::from_primitive(TensorPrimitive::Float(out))
}
