//! A block of rows of a weight [R, rows, D] (the split in_proj's z, xBC and dt rows) through
//! kernels::burn_op_rows where the backend is a CubeCL one in f32 ([`crate::fused`]
//! dispatches): at R = 1 a tensor over the weight's memory (no launch, where burn's narrow
//! copies the z and xBC blocks and its reshape copies dt's row), and a backward of one launch
//! where burn's takes a fill and a slice_assign. Why: at R = 1 the host's work for each launch
//! sets the step (depth 4: 288 launches, 2.3 ms of kernel time in a 5-6 ms step;
//! results/bench/session27-h200-2026-11-29). The same values as burn's narrow, bit for bit.
//!
//! **On by default** since its H200 A/B (results/bench/session27-h200-2026-11-29, calls 2-3):
//! five epochs of nine fig3 cells with the same metrics bit for bit (`rows-check`), and with
//! the fused guard (`r1-ab`, six interleaved pairs) depth 4, R = 1 4.43 -> 4.30 ms (1.03x,
//! faster in 4 of 6 pairs), 288 -> 247 kernels a step. `MSYM_IN_PROJ_ROWS=0` or
//! [`set_in_proj_rows`] turns it off.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_IN_PROJ_ROWS");

/// Turns the row blocks on or off for this process (overrides MSYM_IN_PROJ_ROWS).
pub fn set_in_proj_rows(on: bool) {
    SWITCH.set(on);
}

/// Whether the row blocks are allowed: [`set_in_proj_rows`], else MSYM_IN_PROJ_ROWS, else on.
pub fn in_proj_rows_on() -> bool {
    SWITCH.on()
}

/// Row blocks taken through the kernels' operation so far in this process.
pub fn in_proj_rows_calls() -> usize {
    SWITCH.calls()
}

/// w: [R, rows, D]; rows start..start + len.
struct Rows<'a, B: Backend> {
    w: &'a Tensor<B, 3>,
    start: usize,
    len: usize,
}

impl<B: Backend> FusedOp<B, 3> for Rows<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.w.dtype()]
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 3> {
        kernels::burn_op_rows::rows_autodiff::<R, I, BT, _>(cast(self.w.clone()), self.start, self.len)
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 3> {
        kernels::burn_op_rows::rows_inference::<R, I, BT>(cast(self.w.clone()), self.start, self.len)
    }
}

/// Rows start..start + len of w [R, rows, D] -> [R, len, D] through the kernels' operation,
/// or None where this backend, dtype or switch does not allow it (the caller then narrows).
pub(crate) fn try_fused<B: Backend>(w: &Tensor<B, 3>, start: usize, len: usize) -> Option<Tensor<B, 3>> {
    dispatch(&SWITCH, &Rows { w, start, len })
}
