//! Cross-entropy at the last position, per replica.

use burn::tensor::{Int, Tensor, backend::Backend};
use models::grouped::groups;
use models::ops::nll_rows;

/// Mean cross-entropy of each replica. logits: [R, B, V], labels: [R, B] -> [R].
/// Each sample's loss comes from [`nll_rows`] (the fused kernels where MSYM_FUSED_CE allows).
/// The mean over B is summed in two stages, [R, G, B/G] over B/G and then over G. Why: burn's
/// reduction on CUDA (without autotune) runs one unit per output, so a mean of [R, B] into
/// [R] had R units each walk B values: 78 us of the fig3 step at R = 36, B = 2048 on an H200
/// (ncu, results/bench/session18-h200-2026-11-28/call4). The loss's value sums in another order
/// than before; its gradient, 1/B for every sample, is the same where 1/B is exact in f32
/// (fig3's B = 2048).
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 3>, labels: Tensor<B, 2, Int>) -> Tensor<B, 1> {
    let [r, b, _] = logits.dims();
    let g = groups(b);
    nll_rows(logits, labels)
        .reshape([r, g, b / g])
        .sum_dim(2)
        .sum_dim(1)
        .div_scalar(b as f64)
        .reshape([r])
}
