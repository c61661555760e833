//! Token-grouped forms of the ops whose gradient sums over every token of a batch.
//!
//! Why: burn-cubecl 0.21 spreads a reduction over its output elements and a matmul over
//! its output tiles. The gradient of a weight shared by all tokens (a projection, the
//! embedding table, a per-channel scale or bias, a per-replica scalar) is a sum over the
//! R x B x L tokens into a few outputs, so it ran on one to a few cubes. Profiled with ncu on
//! an H200 (2026-11-26, the fig3 model at depth 2, results/bench/NOTES.md): the embedding's
//! backward (`select_assign`, one cube of 32 threads walking every token) took 5.8 ms of a
//! 14.8 ms step at R = 1 and 210 ms of 297 ms at R = 36; weight-gradient matmuls on 2 to 13
//! cubes and per-channel sums on 1 to 10 cubes took most of the rest at R = 1.
//!
//! Here the M tokens are first split into G groups of M / G ([R, M, C] -> [R, G, M/G, C])
//! and the weight is broadcast over G. Autodiff then computes each weight's gradient as a
//! batched product (or sum) per group, R x G times more parallel, followed by a short sum
//! over G. The forward values are those of the plain ops; only the order of the additions
//! in the gradients changes.

use burn::tensor::{Tensor, backend::Backend};

use crate::precision::widen;

/// The number of groups for n tokens: the largest divisor of n not above sqrt(n), so
/// that the per-group sum and the sum over groups are about equally long (1 for a prime n).
pub fn groups(n: usize) -> usize {
    groups_within(n, 0)
}

/// The most elements a grouped product may hold as its per-group gradient (G x R x out x in):
/// 2^26, 256 MiB in f32. A wide weight needs no grouping to fill the GPU: its gradient
/// already has R x out x in outputs. Grouped anyway, the Transformer's 400 x 1200 FFN weight at
/// R = 36 and G = 128 made 2.2e9 elements (8.8 GB) per weight, more than an i32 index
/// reaches. On an H200 that model filled the card from depth 5 on and trained NaN at depth 7,
/// with these gradients the suspects (results/bench/NOTES.md, 2026-11-26). Every weight of the
/// fig3 models (d_model 32) stays under the cap up to R = 36, so their G, and their numbers,
/// are those of the uncapped rule.
pub const MAX_GROUPED: usize = 1 << 26;

/// `groups(n)`, lowered (to a divisor of n) until G x `per_group` <= MAX_GROUPED; at
/// least 1. per_group: the elements of one group's gradient (0: no cap).
pub fn groups_within(n: usize, per_group: usize) -> usize {
    let cap = MAX_GROUPED.checked_div(per_group).unwrap_or(usize::MAX);
    (1..=n.isqrt().min(cap))
        .rev()
        .find(|g| n.is_multiple_of(*g))
        .unwrap_or(1)
}

/// The token groups G of [`linear_grouped`]'s product of M tokens with an [R, out, in]
/// weight (the weight gradient's per-group products hold G x R x out x in elements):
/// [`linear_groups_for`] with the batches set by [`set_grad_batches`] (MSYM_GRAD_BATCHES).
pub fn linear_groups(replicas: usize, tokens: usize, out: usize, d_in: usize) -> usize {
    let batches = GRAD_BATCHES.load(core::sync::atomic::Ordering::Relaxed);
    linear_groups_for(replicas, tokens, out, d_in, (batches > 0).then_some(batches))
}

/// The least R x G that [`linear_groups`] aims for (0: no aim, the square-root rule alone).
static GRAD_BATCHES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Sets [`linear_groups`]'s aim for this process: the fewest groups G whose R x G batches
/// reach `batches` (None: the square-root rule alone). An A/B setting (MSYM_GRAD_BATCHES).
pub fn set_grad_batches(batches: Option<usize>) {
    GRAD_BATCHES.store(batches.unwrap_or(0), core::sync::atomic::Ordering::Relaxed);
}

/// [`linear_groups`] with the aim given: without one, [`groups_within`]'s square-root rule;
/// with one (`batches`), the smallest divisor G of the tokens with R x G >= batches, but never
/// more groups than that rule gives.
///
/// Why an aim: the rule gives G = 128 for fig3's 16384 tokens at every R, which at R = 1 fills
/// the GPU with the weight gradient's R x G small products (each of the M / G = 128 tokens),
/// but at R = 36 makes 4608 of them: cubek then runs one short cube (32 x 32 outputs, K = 128)
/// for each output tile of each, and writes G x R x out x in partial sums (189 MB for xBC's
/// weight) that a reduction reads again. The same parallelism at R = 36 needs only G = 32.
/// Fewer groups change the order of the weight gradient's sum: other bits.
pub fn linear_groups_for(replicas: usize, tokens: usize, out: usize, d_in: usize, batches: Option<usize>) -> usize {
    let most = groups_within(tokens, replicas * out * d_in);
    let Some(batches) = batches else { return most };
    let least = batches.div_ceil(replicas.max(1));
    (1..=most)
        .find(|g| *g >= least && tokens.is_multiple_of(*g))
        .unwrap_or(most)
}

/// Linear map without bias. x: [R, B, L, in], w: [R, out, in] (PyTorch layout) -> [R, B, L, out].
pub fn linear<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 3>) -> Tensor<B, 4> {
    let [r, b, l, d_in] = x.dims();
    let out = w.dims()[1];
    linear_tokens(x.reshape([r, b * l, d_in]), w).reshape([r, b, l, out])
}

/// Linear map on tokens. x: [R, M, in], w: [R, out, in] -> [R, M, out].
/// At one replica on a CubeCL backend in f32 the map may run as [`crate::fused_linear`]'s
/// kernels (its switch; other bits, f32 products).
pub fn linear_tokens<B: Backend>(x: Tensor<B, 3>, w: Tensor<B, 3>) -> Tensor<B, 3> {
    #[cfg(feature = "cubecl")]
    if let Some(y) = crate::fused_linear::try_fused(&x, &w) {
        return y;
    }
    let [r, m, _] = x.dims();
    let out = w.dims()[1];
    linear_grouped(x, w).reshape([r, m, out])
}

/// [`linear_tokens`] before its last reshape: the product as [R, G, M/G, out], the M tokens
/// in order. Why: on CUDA the product's rows are pitched when out x 4 bytes is not a
/// multiple of the pitch (xBC's 320 floats become 384), and a reshape that drops a rank then
/// copies it (1.2 ms a layer at R = 36, results/bench/paths-h200-2026-11-27); a consumer that
/// takes the tokens in this shape ([`crate::ops::conv_silu_rows`]) avoids the copy.
/// x: [R, M, in], w: [R, out, in] -> [R, G, M/G, out].
pub fn linear_grouped<B: Backend>(x: Tensor<B, 3>, w: Tensor<B, 3>) -> Tensor<B, 4> {
    let [r, m, d_in] = x.dims();
    let out = w.dims()[1];
    let g = linear_groups(r, m, out, d_in);
    // [R, G, M/G, in] x [R, 1, in, out], broadcast over G
    crate::f32_matmul::matmul(x.reshape([r, g, m / g, d_in]), w.transpose().unsqueeze_dim::<4>(1))
}

/// The product of each token with one weight row: x: [R, B, L, D], w: [R, D] -> [R, B, L].
/// An elementwise product and a sum over D, in f32 (the master precision), not a matmul:
/// CubeCL's matmul refuses a one-column right-hand side in the layout a one-row weight slice
/// gives it ("invalid or non-contiguous matrix layout [R, 1, 32, 1]", results/bench/NOTES.md).
/// The tokens are grouped, as everywhere here, so that w's gradient is a sum per group first.
pub fn row_product<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 2>) -> Tensor<B, 3> {
    let [r, b, l, d] = x.dims();
    let m = b * l;
    let g = groups(m);
    widen(x)
        .reshape([r, g, m / g, d])
        .mul(widen(w).reshape([r, 1, 1, d]))
        .sum_dim(3)
        .reshape([r, b, l])
}

/// `op(x, v)` with a per-replica vector broadcast over the tokens.
/// x: [R, M, C], v: [R, C] -> [R, M, C].
pub fn per_channel<B: Backend>(
    x: Tensor<B, 3>,
    v: Tensor<B, 2>,
    op: impl FnOnce(Tensor<B, 4>, Tensor<B, 4>) -> Tensor<B, 4>,
) -> Tensor<B, 3> {
    let [r, m, c] = x.dims();
    let g = groups(m);
    op(x.reshape([r, g, m / g, c]), v.reshape([r, 1, 1, c])).reshape([r, m, c])
}

/// x * w per channel. x: [R, B, L, C], w: [R, C] -> [R, B, L, C].
pub fn scale<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 2>) -> Tensor<B, 4> {
    let [r, b, l, c] = x.dims();
    per_channel(x.reshape([r, b * l, c]), w, |x, w| x.mul(w)).reshape([r, b, l, c])
}

/// x + v per channel. x: [R, B, L, C], v: [R, C] -> [R, B, L, C].
pub fn shift<B: Backend>(x: Tensor<B, 4>, v: Tensor<B, 2>) -> Tensor<B, 4> {
    let [r, b, l, c] = x.dims();
    per_channel(x.reshape([r, b * l, c]), v, |x, v| x.add(v)).reshape([r, b, l, c])
}

/// x * s with one scalar per replica. x: [R, ...] (rank D), s: [R, 1] -> x's shape.
pub fn scale_scalar<B: Backend, const D: usize>(x: Tensor<B, D>, s: Tensor<B, 2>) -> Tensor<B, D> {
    let dims = x.dims();
    let n = dims[1..].iter().product();
    per_channel(x.reshape([dims[0], n, 1]), s, |x, s| x.mul(s)).reshape(dims)
}

/// x + s with one scalar per replica. x: [R, ...] (rank D), s: [R, 1] -> x's shape.
pub fn shift_scalar<B: Backend, const D: usize>(x: Tensor<B, D>, s: Tensor<B, 2>) -> Tensor<B, D> {
    let dims = x.dims();
    let n = dims[1..].iter().product();
    per_channel(x.reshape([dims[0], n, 1]), s, |x, s| x.add(s)).reshape(dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::{Distribution, TensorData, Tolerance};

    type B = Autodiff<NdArray<f64>>;

    #[test]
    fn groups_is_the_largest_divisor_up_to_the_square_root() {
        assert_eq!(groups(16384), 128);
        assert_eq!(groups(2048), 32);
        assert_eq!(groups(12), 3);
        assert_eq!(groups(13), 1);
        assert_eq!(groups(1), 1);
    }

    #[test]
    fn wide_weights_get_fewer_groups_and_the_fig3_weights_keep_theirs() {
        let tokens = 2048 * 8; // a composite batch
        // The Transformer's FFN weight (400 x 1200) at R = 36: 17.3e6 elements a group.
        assert_eq!(groups_within(tokens, 36 * 400 * 1200), 2);
        assert!(groups_within(tokens, 36 * 400 * 1200) * 36 * 400 * 1200 <= MAX_GROUPED);
        assert_eq!(groups_within(tokens, 400 * 1200), 128); // R = 1: 128 x 480 000 = 6.1e7 <= 2^26
        // fig3's widest weight, the Mamba2 in_proj (d_model 32: 2 x 64 + 2 x 128 + 1 heads out),
        // at R = 36: uncapped.
        assert_eq!(groups_within(tokens, 36 * 385 * 32), groups(tokens));
        // Larger than the cap on its own: one group.
        assert_eq!(groups_within(tokens, MAX_GROUPED + 1), 1);
        assert_eq!(groups_within(13, 1), 1);
    }

    #[test]
    fn an_aim_of_batches_takes_the_fewest_groups_that_reach_it_and_never_more_than_the_rule() {
        let tokens = 2048 * 8; // a composite batch; fig3's in_proj xBC rows: 320 x 32
        let g = |r, aim| linear_groups_for(r, tokens, 320, 32, aim);
        assert_eq!(g(36, None), 128); // the square-root rule
        assert_eq!(g(36, Some(1152)), 32);
        assert_eq!(g(36, Some(1153)), 64); // 33 is no divisor of 16384: the next one up
        assert_eq!(g(1, Some(1152)), 128); // the rule caps it: R = 1 keeps its groups
        assert_eq!(g(9, Some(1152)), 128);
        assert_eq!(g(18, Some(1152)), 64);
        assert_eq!(g(36, Some(1)), 1);
        assert_eq!(linear_groups_for(7, 13, 4, 4, Some(20)), 1); // a prime: one group
        // the Transformer's FFN weight at R = 36: the cap of MAX_GROUPED still holds
        assert_eq!(linear_groups_for(36, tokens, 400, 1200, Some(1 << 20)), 2);
    }

    fn random<const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default()).require_grad()
    }

    /// Value and gradients of `f` and of the plain `reference` agree to rounding.
    fn same_as_plain<const D: usize, const W: usize>(
        x: Tensor<B, D>,
        w: Tensor<B, W>,
        f: impl Fn(Tensor<B, D>, Tensor<B, W>) -> Tensor<B, D>,
        reference: impl Fn(Tensor<B, D>, Tensor<B, W>) -> Tensor<B, D>,
    ) {
        let y = f(x.clone(), w.clone());
        let y_ref = reference(x.clone(), w.clone());
        y.to_data()
            .assert_approx_eq::<f64>(&y_ref.to_data(), Tolerance::absolute(1e-12));
        // A weighted sum, so that every output's gradient differs.
        let probe = Tensor::<B, D>::random(y.dims(), Distribution::Normal(0.0, 1.0), &Default::default());
        let grads = y.mul(probe.clone()).sum().backward();
        let grads_ref = y_ref.mul(probe).sum().backward();
        let close = |a: Option<TensorData>, b: Option<TensorData>| {
            let (a, b) = (a.expect("a gradient"), b.expect("a gradient"));
            a.assert_approx_eq::<f64>(&b, Tolerance::absolute(1e-12));
        };
        close(
            x.grad(&grads).map(|t| t.to_data()),
            x.grad(&grads_ref).map(|t| t.to_data()),
        );
        close(
            w.grad(&grads).map(|t| t.to_data()),
            w.grad(&grads_ref).map(|t| t.to_data()),
        );
    }

    #[test]
    fn grouped_ops_match_the_plain_ones_in_value_and_gradient() {
        let [r, b, l, c] = [2, 6, 3, 5];
        same_as_plain(random([r, b, l, c]), random([r, 4, c]), linear, |x, w| {
            x.reshape([r, b * l, c]).matmul(w.transpose()).reshape([r, b, l, 4])
        });
        same_as_plain(random([r, b, l, c]), random([r, c]), scale, |x, w| {
            x.mul(w.reshape([r, 1, 1, c]))
        });
        same_as_plain(random([r, b, l, c]), random([r, c]), shift, |x, v| {
            x.add(v.reshape([r, 1, 1, c]))
        });
        same_as_plain(random([r, b, l]), random([r, 1]), scale_scalar, |x, s| {
            x.mul(s.reshape([r, 1, 1]))
        });
        same_as_plain(random([r, b, l, c]), random([r, 1]), shift_scalar, |x, s| {
            x.add(s.reshape([r, 1, 1, 1]))
        });
    }
}
