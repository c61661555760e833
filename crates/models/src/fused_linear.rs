//! A one-replica linear map without bias (the Mamba2 block's z rows and out_proj, the head)
//! through kernels::burn_op_linear where the backend is a CubeCL one in f32 ([`crate::fused`]
//! dispatches): three small kernels of this project's in place of burn's matmul, f32 on the
//! CUDA cores. Why: at R = 1 the host's work for each launch sets the step, and burn's matmul
//! launch is the dearest (cubek's set-up each call: about 22-33 us of host time against about 3
//! for a small kernel, results/bench/session27-h200-2026-11-29, call 5); a map took four such
//! launches a step (its product, two backward, and burn's sum of the weight gradient's token
//! groups), and four cheap ones here. (xBC's product in the fused product + conv takes them
//! too with MSYM_LINEAR_XBC=1: [`linear_xbc`].)
//!
//! Only at one replica, and only for weights that fit a cube's shared memory
//! (kernels::linear::LinearShape::fits_on): with many replicas the step is bound by the GPU, where
//! cubek's tensor-core tiles are faster than CUDA-core products. Other bits than burn's matmul:
//! f32 products where burn rounds f32 inputs to TF32, and sums in another order.
//!
//! **On by default** since its H200 A/B (results/bench/session28-h200-2026-11-29, call 1):
//! `linear-check`, five epochs of three one-replica fig3 cells, the same test accuracies and
//! train losses within 3.7e-6 (relative); depth 4, R = 1 faster in each of 6 interleaved
//! pairs (3.66-4.43 -> 3.08-3.84 ms); with the group sums (`r1-ab`) 4.42 -> 3.12 ms, 1.41x.
//! `MSYM_FUSED_LINEAR=0` or [`set_fused_linear`] turns it off. Yields to MSYM_F32_MATMUL /
//! MSYM_MATMUL_KERNEL, the products' own A/B settings.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_LINEAR");

/// Turns the fused linear map on or off for this process (overrides MSYM_FUSED_LINEAR).
pub fn set_fused_linear(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused linear map is allowed: [`set_fused_linear`], else MSYM_FUSED_LINEAR, else on.
pub fn fused_linear_on() -> bool {
    SWITCH.on()
}

/// Maps taken through the kernels so far in this process.
pub fn fused_linear_calls() -> usize {
    SWITCH.calls()
}

/// Whether the fused xBC product + conv's backward forms the product's gradients with the
/// same kernels where this switch is on (kernels::burn_op_proj_conv::Products::linear), or with
/// burn's products: an A/B setting (MSYM_LINEAR_XBC, models::launch_shape), **off** by
/// default. Why: xBC's weight (320 x 32 at fig3) is the widest of the block, and there the
/// CUDA-core kernels took 82-92 + 117 us of GPU time a layer against about 40 for burn's
/// tensor-core products (ncu, session 28, calls 2-3), while the host saves about 50 us a
/// layer; at R = 1 the kernel time now about equals the step, and the A/B of the two gave
/// 1.01x (six interleaved pairs at depth 4, 3 of 6 each way: call 3), so the default is the
/// one with less GPU time.
static XBC: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Sets [`linear_xbc`] for this process.
pub fn set_linear_xbc(on: bool) {
    XBC.store(on, core::sync::atomic::Ordering::Relaxed);
}

/// Whether xBC's product gradients may take the kernels (at one replica, the switch on).
pub fn linear_xbc() -> bool {
    XBC.load(core::sync::atomic::Ordering::Relaxed)
}

/// x: [1, M, K], w: [1, N, K].
struct Linear<'a, B: Backend> {
    x: &'a Tensor<B, 3>,
    w: &'a Tensor<B, 3>,
}

impl<B: Backend> FusedOp<B, 3> for Linear<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.x.dtype(), self.w.dtype()]
    }

    fn supported(&self) -> bool {
        !crate::f32_matmul::f32_matmul_on()
    }

    /// At one replica, where the weight fits the runtime's shared memory and the token groups
    /// one unit (the shape read once, after the cheaper checks).
    fn takes<R: CubeRuntime>(&self) -> bool {
        kernels::burn_op_linear::linear_shape(&self.x.dims(), &self.w.dims())
            .is_some_and(|s| s.replicas == 1 && s.fits_on(&R::client(&cast::<B::Device, R::Device>(self.x.device()))))
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 3> {
        kernels::burn_op_linear::linear_autodiff::<R, I, BT, _>(cast(self.x.clone()), cast(self.w.clone()))
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 3> {
        kernels::burn_op_linear::linear_inference::<R, I, BT>(cast(self.x.clone()), cast(self.w.clone()))
    }
}

/// y = x W^T [1, M, N] for x [1, M, K] and w [1, N, K] through the kernels, or None where
/// the switch, backend, dtypes, replicas or sizes do not allow it (the caller then runs the
/// grouped matmul).
pub(crate) fn try_fused<B: Backend>(x: &Tensor<B, 3>, w: &Tensor<B, 3>) -> Option<Tensor<B, 3>> {
    dispatch(&SWITCH, &Linear { x, w })
}
