//! Each sample's cross-entropy at the last position, logsumexp(logits) - logits[label],
//! through the kernels of crates/kernels (`cross_entropy`) where the backend is one they run
//! on ([`crate::fused`] dispatches), in place of burn's log_softmax and gather
//! ([`crate::ops::nll_rows`]): 34 kernels a step, 1.0 ms at depth 4, R = 36 on an H200
//! (results/bench/session18-h200-2026-11-28/call4), and launches of an R = 1 step that is
//! bound by the host.
//!
//! **On by default** since its H200 A/B (`scripts/device-batch.sh ce-check`,
//! results/bench/session19-h200-2026-11-28/call2: 1.06x at depth 2, R = 9 and 1.05x at R = 36
//! against the same binary with it off; the 5-epoch losses within 2.0e-7 relative).
//! `MSYM_FUSED_CE=0` or [`set_fused_ce`] turns it off. Tested against the f64 definition and
//! finite differences on lavapipe (crates/kernels/tests/ce_wgpu.rs). The kernels sum the
//! row's exponentials in another order than burn's log_softmax, so the bits differ from the
//! plain ops'.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Int, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_CE");

/// Turns the fused cross-entropy on or off for this process (overrides MSYM_FUSED_CE).
pub fn set_fused_ce(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused cross-entropy is allowed: [`set_fused_ce`], else MSYM_FUSED_CE, else on.
pub fn fused_ce_on() -> bool {
    SWITCH.on()
}

/// Loss calls that ran the fused kernels so far in this process.
pub fn fused_ce_calls() -> usize {
    SWITCH.calls()
}

/// logits: [R, B, V], labels: [R, B].
struct Ce<'a, B: Backend> {
    logits: &'a Tensor<B, 3>,
    labels: &'a Tensor<B, 2, Int>,
}

impl<B: Backend> FusedOp<B, 2> for Ce<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.logits.dtype()]
    }

    /// The i32 labels the kernels read.
    fn supported(&self) -> bool {
        self.labels.dtype() == DType::I32
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 2> {
        kernels::burn_op_ce::cross_entropy_autodiff::<R, I, BT, _>(cast(self.logits.clone()), cast(self.labels.clone()))
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 2> {
        kernels::burn_op_ce::cross_entropy_inference::<R, I, BT>(cast(self.logits.clone()), cast(self.labels.clone()))
    }
}

/// Each sample's nll [R, B] through the kernels, or None where this backend, dtype or
/// switch does not allow them (the caller then runs the plain ops).
/// logits: [R, B, V], labels: [R, B].
pub(crate) fn try_fused<B: Backend>(logits: &Tensor<B, 3>, labels: &Tensor<B, 2, Int>) -> Option<Tensor<B, 2>> {
    dispatch(&SWITCH, &Ce { logits, labels })
}
