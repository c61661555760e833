//! Mamba2's step size dt = softplus(u . w_dt + dt_bias) through the two kernels of
//! crates/kernels (`dt_proj`) where the backend is one they run on ([`crate::fused`]
//! dispatches), in place of the plain ops of the split in_proj (`grouped::row_product`, then
//! `shift_scalar` and `activation::softplus`): about 24 launches a layer forward and backward
//! become 1 and 3. Why: at R = 1 the host's work for each launch, not the GPU, sets the step
//! (depth 4: 437 kernels, 2.9 ms of kernel time by ncu in a 5.6-7.6 ms step;
//! results/bench/session26-h200-2026-11-29).
//!
//! **On by default** since its H200 A/B (`scripts/device-batch.sh dt-check`,
//! results/bench/session26-h200-2026-11-29/call3): R = 1 at depth 4 5.66 / 5.91 ms against
//! 7.24 / 7.54 with it off (1.28x in both interleaved pairs; faster at depths 2 and 7 in every
//! pair too), 337 kernels a step against 437; 1.06x at depth 2, R = 9 and 1.03x at R = 36; the
//! 5-epoch losses within 1.1e-7. Below the 5% bar at R = 36 that the checks' verdict applies
//! (the grid, three workers on one GPU, is unchanged at 0.97 h), adopted for R = 1, issue 8's
//! second goal. `MSYM_FUSED_DT=0` or [`set_fused_dt`] turns it off. Tested against the f64 definition and
//! finite differences on lavapipe (crates/kernels/tests/dt_wgpu.rs) and inside the model
//! (crates/models/tests/fused_wgpu.rs). The kernel sums the dot product in d order and the
//! weight gradient per token group in token order: other bits than the plain ops'.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_DT");

/// Turns the fused dt on or off for this process (overrides MSYM_FUSED_DT).
pub fn set_fused_dt(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused dt is allowed: [`set_fused_dt`], else MSYM_FUSED_DT, else on.
pub fn fused_dt_on() -> bool {
    SWITCH.on()
}

/// dt calls that ran the fused kernels so far in this process.
pub fn fused_dt_calls() -> usize {
    SWITCH.calls()
}

/// u: [R, B, L, D], w: [R, D], bias: [R, 1].
struct Dt<'a, B: Backend> {
    u: &'a Tensor<B, 4>,
    w: &'a Tensor<B, 2>,
    bias: &'a Tensor<B, 2>,
}

impl<B: Backend> FusedOp<B, 3> for Dt<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.u.dtype(), self.w.dtype(), self.bias.dtype()]
    }

    /// A token group's gx must fit the backward's shared array.
    fn supported(&self) -> bool {
        let [replicas, b, l, d] = self.u.dims();
        kernels::dt_proj::DtShape {
            replicas,
            tokens: b * l,
            d,
        }
        .fits()
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 3> {
        kernels::burn_op_dt::dt_autodiff::<R, I, BT, _>(
            cast(self.u.clone()),
            cast(self.w.clone()),
            cast(self.bias.clone()),
        )
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 3> {
        kernels::burn_op_dt::dt_inference::<R, I, BT>(
            cast(self.u.clone()),
            cast(self.w.clone()),
            cast(self.bias.clone()),
        )
    }
}

/// dt [R, B, L] through the kernels, or None where this backend, dtype, size or switch does
/// not allow them (the caller then runs the plain ops). u: [R, B, L, D], w: [R, D] (in_proj's
/// dt row), bias: [R, 1].
pub(crate) fn try_fused<B: Backend>(u: &Tensor<B, 4>, w: &Tensor<B, 2>, bias: &Tensor<B, 2>) -> Option<Tensor<B, 3>> {
    dispatch(&SWITCH, &Dt { u, w, bias })
}
