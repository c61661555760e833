//! The token embedding, w[r, tokens[r, b, l]], through the lookup and scatter-sum kernels of
//! crates/kernels where the backend is one they run on ([`crate::fused`] dispatches), in
//! place of the one-hot product of [`crate::embed::embed`].
//!
//! **On by default** since its H200 A/B of 2026-11-27 (results/bench/session13-h200-2026-11-27:
//! 1.05x at depth 2, R = 9 against the same binary with it off, the other paths on; the
//! one-hot compare, cast and matmuls became two kernels, 0.19 ms of kernel time at R = 36).
//! `MSYM_FUSED_EMBED=0` or [`set_fused_embed`] turns it off. Tested against a host table
//! lookup and its scatter-sum on lavapipe. The gradient sums each table row's tokens in
//! another order than the one-hot matmul.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Int, Tensor};
use burn_cubecl::CubeRuntime;
use burn_cubecl::element::{BoolElement, IntElement};

use crate::fused::{Ad, FusedOp, Plain, cast, dispatch};
use crate::switch::Switch;

static SWITCH: Switch = Switch::new("MSYM_FUSED_EMBED");

/// Turns the fused embedding on or off for this process (overrides MSYM_FUSED_EMBED).
pub fn set_fused_embed(on: bool) {
    SWITCH.set(on);
}

/// Whether the fused embedding is allowed: [`set_fused_embed`], else MSYM_FUSED_EMBED, else on.
pub fn fused_embed_on() -> bool {
    SWITCH.on()
}

/// Embedding calls that ran the fused kernels so far in this process.
pub fn fused_embed_calls() -> usize {
    SWITCH.calls()
}

/// weight: [R, V, D], tokens: [R, B, L].
struct Embed<'a, B: Backend> {
    weight: &'a Tensor<B, 3>,
    tokens: &'a Tensor<B, 3, Int>,
}

impl<B: Backend> FusedOp<B> for Embed<'_, B> {
    fn dtypes(&self) -> Vec<DType> {
        vec![self.weight.dtype()]
    }

    /// One unit a channel (D up to MAX_D), and the i32 tokens the kernels read.
    fn supported(&self) -> bool {
        self.weight.dims()[2] <= kernels::embed::MAX_D && self.tokens.dtype() == DType::I32
    }

    fn autodiff<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Ad<R, I, BT>, 4> {
        kernels::burn_op_embed::embed_autodiff::<R, I, BT, _>(cast(self.weight.clone()), cast(self.tokens.clone()))
    }

    fn inference<R: CubeRuntime, I: IntElement, BT: BoolElement>(&self) -> Tensor<Plain<R, I, BT>, 4> {
        kernels::burn_op_embed::embed_inference::<R, I, BT>(cast(self.weight.clone()), cast(self.tokens.clone()))
    }
}

/// The embedding [R, B, L, D] through the kernels, or None where this backend, dtype, width
/// or switch does not allow them (the caller then runs the one-hot product).
/// weight: [R, V, D], tokens: [R, B, L].
pub(crate) fn try_fused<B: Backend>(weight: &Tensor<B, 3>, tokens: &Tensor<B, 3, Int>) -> Option<Tensor<B, 4>> {
    dispatch(&SWITCH, &Embed { weight, tokens })
}
