//! Replica-batched building blocks. Every weight carries a leading replica dimension R and
//! every activation is [R, batch, seq, features], so R independent models run as one
//! batched computation; R = 1 is the plain model.

use crate::activation::silu;
use crate::grouped::{groups, scale, shift};
use crate::precision::{to_dtype, widen};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Int, Tensor, TensorData, backend::Backend};

/// RMSNorm over the last dim. x: [R, B, L, D], weight: [R, D] -> [R, B, L, D].
/// Through the fused kernels where the backend, dtype and switch allow them (`fused_rms`,
/// on by default), the plain ops otherwise. In the plain ops the mean square is taken in
/// the master precision (a bf16 sum over D loses digits).
pub fn rms_norm<B: Backend>(x: Tensor<B, 4>, weight: Tensor<B, 2>, eps: f64) -> Tensor<B, 4> {
    #[cfg(feature = "cubecl")]
    if let Some(out) = crate::fused_rms::try_fused(&x, &weight, eps) {
        return out;
    }
    rms_norm_plain(x, weight, eps)
}

/// [`rms_norm`] in the plain ops, whatever the switches say: also the gated norm's fallback,
/// so that each fused path's A/B measures its own op alone.
fn rms_norm_plain<B: Backend>(x: Tensor<B, 4>, weight: Tensor<B, 2>, eps: f64) -> Tensor<B, 4> {
    let dtype = x.dtype();
    let rms = widen(x.clone()).powi_scalar(2).mean_dim(3).add_scalar(eps).sqrt(); // [R, B, L, 1]
    scale(x.div(to_dtype(rms, dtype)), weight)
}

/// Each sample's cross-entropy, logsumexp(logits) - logits[label]: logits [R, B, V], labels
/// [R, B] -> [R, B]. Through the fused kernels where the backend, dtype and switch allow them
/// (`fused_ce`, on by default), burn's log_softmax and gather otherwise.
pub fn nll_rows<B: Backend>(logits: Tensor<B, 3>, labels: Tensor<B, 2, Int>) -> Tensor<B, 2> {
    #[cfg(feature = "cubecl")]
    if let Some(out) = crate::fused_ce::try_fused(&logits, &labels) {
        return out;
    }
    let [r, b, _] = logits.dims();
    log_softmax(logits, 2)
        .gather(2, labels.reshape([r, b, 1]))
        .reshape([r, b])
        .neg()
}

/// RMSNorm(y * SiLU(z)) * weight, the Mamba2 block's gated norm after the SSD: through the
/// fused kernels where the backend, dtype and switch allow them (`fused_norm`, on by
/// default), the plain ops otherwise. y, z: [R, B, L, E], weight: [R, E] -> [R, B, L, E].
pub fn gated_rms_norm<B: Backend>(y: Tensor<B, 4>, z: Tensor<B, 4>, weight: Tensor<B, 2>, eps: f64) -> Tensor<B, 4> {
    #[cfg(feature = "cubecl")]
    if let Some(out) = crate::fused_norm::try_fused(&y, &z, &weight, eps) {
        return out;
    }
    rms_norm_plain(y.mul(silu(z)), weight, eps)
}

/// LayerNorm over the last dim (biased variance, as PyTorch). x: [R, B, L, D] -> same.
/// Computed in the master precision and returned in x's.
pub fn layer_norm<B: Backend>(x: Tensor<B, 4>, weight: Tensor<B, 2>, bias: Tensor<B, 2>, eps: f64) -> Tensor<B, 4> {
    let dtype = x.dtype();
    let x = widen(x);
    let centred = x.clone().sub(x.mean_dim(3));
    let var = centred.clone().powi_scalar(2).mean_dim(3);
    let normed = centred.div(var.add_scalar(eps).sqrt());
    shift(scale(to_dtype(normed, dtype), weight), bias)
}

/// Causal depthwise conv1d, as PyTorch's Conv1d(groups = C, padding = K - 1) cut to the
/// first L outputs: out[t, c] = bias[c] + sum_k w[c, k] * x[t - (K - 1) + k, c], with x = 0
/// before the sequence. Tap K-1 weighs the current token, tap 0 the token K-1 steps back.
/// x: [R, B, L, C], w: [R, C, K], bias: [R, C] -> [R, B, L, C].
pub fn causal_conv<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 3>, bias: Tensor<B, 2>) -> Tensor<B, 4> {
    let [r, b, l, c] = x.dims();
    let k = w.dims()[2];
    // The batch is split into G groups so that each tap's gradient, a sum over all tokens,
    // runs as a sum per group and then over groups (crate::grouped says why).
    let g = groups(b);
    let zeros = Tensor::zeros([r, b, k - 1, c], (&x.device(), x.dtype()));
    let padded = Tensor::cat(vec![zeros, x], 2).reshape([r, g, b / g, l + k - 1, c]);
    let term = |tap: usize| {
        let w_tap = w.clone().narrow(2, tap, 1).reshape([r, 1, 1, 1, c]);
        padded.clone().narrow(3, tap, l).mul(w_tap)
    };
    let out = (1..k)
        .fold(term(0), |out, tap| out.add(term(tap)))
        .reshape([r, b, l, c]);
    shift(out, bias)
}

/// Causal conv followed by SiLU (the Mamba2 conv stage). Shapes as [`causal_conv`].
/// Through the fused kernels of crates/kernels where the build, the backend, the dtypes and
/// the switch allow them (`fused_conv`, on by default); the plain ops otherwise.
pub fn conv_silu<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 3>, bias: Tensor<B, 2>) -> Tensor<B, 4> {
    let l = x.dims()[2];
    conv_silu_rows(x, l, w, bias)
}

/// [`conv_silu`] of tokens given as [R, A, T, C] in [R, B, L, C]'s order (A T = B L,
/// sequences of `len` tokens), e.g. a grouped product [R, G, M/G, C] from
/// [`crate::grouped::linear_grouped`]: the fused kernels read it as it lies, where a
/// reshape to [R, B, L, C] would copy it on CUDA (its rows are pitched; 1.2 ms a layer at
/// R = 36, results/bench/paths-h200-2026-11-27). -> [R, B, L, C].
pub fn conv_silu_rows<B: Backend>(x: Tensor<B, 4>, len: usize, w: Tensor<B, 3>, bias: Tensor<B, 2>) -> Tensor<B, 4> {
    #[cfg(feature = "cubecl")]
    if let Some(out) = crate::fused_conv::try_fused(&x, len, &w, &bias) {
        return out;
    }
    let [r, a, t, c] = x.dims();
    silu(causal_conv(x.reshape([r, a * t / len, len, c]), w, bias))
}

/// y = SSD(SiLU(conv(x) + bias), dt, A, D) [R, B, L, E] through the fused conv + SSD kernels
/// ([`crate::fused_conv_ssd`]), or None where they do not run (the caller then runs
/// [`conv_silu_rows`] and [`crate::ssd::ssd_of_xbc`], whose result it is, bit for bit).
/// x: the conv's input [R, B, L, C] or the same tokens as [R, A, T, C] (sequences of `len`),
/// w [R, C, K], bias [R, C], dt [R, B, L], a and d [R, 1]; C = E + 2N.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(feature = "cubecl"), allow(unused_variables))] // no CubeCL: never
pub fn conv_ssd_rows<B: Backend>(
    x: &Tensor<B, 4>,
    len: usize,
    w: &Tensor<B, 3>,
    bias: &Tensor<B, 2>,
    dt: &Tensor<B, 3>,
    a: &Tensor<B, 2>,
    d: &Tensor<B, 2>,
    e: usize,
) -> Option<Tensor<B, 4>> {
    #[cfg(feature = "cubecl")]
    {
        crate::fused_conv_ssd::try_fused(x, len, w, bias, dt, a, d, e)
    }
    #[cfg(not(feature = "cubecl"))]
    {
        None
    }
}

/// dt = softplus(u . w + bias) [R, B, L] through the fused dt kernels (crate::fused_dt), or
/// None where they do not run (a build without CubeCL, another backend or dtype, the switch
/// off). u: [R, B, L, D], w: [R, D], bias: [R, 1].
#[cfg_attr(not(feature = "cubecl"), allow(unused_variables))] // no CubeCL: never
pub fn dt_rows<B: Backend>(u: &Tensor<B, 4>, w: &Tensor<B, 2>, bias: &Tensor<B, 2>) -> Option<Tensor<B, 3>> {
    #[cfg(feature = "cubecl")]
    {
        crate::fused_dt::try_fused(u, w, bias)
    }
    #[cfg(not(feature = "cubecl"))]
    {
        None
    }
}

/// Rows start..start + len of a weight w [R, rows, D] -> [R, len, D]: through
/// [`crate::fused_rows`] where it runs (a view at R = 1, one launch backward), else burn's
/// narrow. The same values either way.
pub fn weight_rows<B: Backend>(w: &Tensor<B, 3>, start: usize, len: usize) -> Tensor<B, 3> {
    #[cfg(feature = "cubecl")]
    if let Some(block) = crate::fused_rows::try_fused(w, start, len) {
        return block;
    }
    w.clone().narrow(1, start, len)
}

/// SiLU(conv(u wx^T) + bias) [R, B, L, C]: in_proj's xBC rows and the conv stage through the
/// fused product + conv kernel ([`crate::fused_proj_conv`]), or None where it does not run (the
/// caller then runs [`crate::grouped::linear_grouped`] and [`conv_silu_rows`]).
/// u [R, B, L, D], wx [R, C, D] (in_proj's xBC rows), w [R, C, K], bias [R, C].
#[cfg_attr(not(feature = "cubecl"), allow(unused_variables))] // no CubeCL: never
pub fn proj_conv_rows<B: Backend>(
    u: &Tensor<B, 4>,
    wx: &Tensor<B, 3>,
    w: &Tensor<B, 3>,
    bias: &Tensor<B, 2>,
) -> Option<Tensor<B, 4>> {
    #[cfg(feature = "cubecl")]
    {
        crate::fused_proj_conv::try_fused(u, wx, w, bias)
    }
    #[cfg(not(feature = "cubecl"))]
    {
        None
    }
}

/// Sinusoidal position encoding [L, D]: pe[p, 2i] = sin(p / 10000^(2i/D)), pe[p, 2i+1] = cos(..).
pub fn sinusoidal<B: Backend>(seq_len: usize, d: usize, device: &B::Device) -> Tensor<B, 2> {
    let mut v = Vec::with_capacity(seq_len * d);
    for p in 0..seq_len {
        for j in 0..d {
            let freq = 10000f64.powf(-((j - j % 2) as f64) / d as f64);
            let angle = p as f64 * freq;
            v.push(if j % 2 == 0 { angle.sin() } else { angle.cos() });
        }
    }
    Tensor::from_data(TensorData::new(v, [seq_len, d]), device)
}

/// The last position of a sequence. x: [R, B, L, D] -> [R, B, D].
pub fn last_position<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [r, b, l, d] = x.dims();
    x.narrow(2, l - 1, 1).reshape([r, b, d])
}

/// True strictly above the diagonal (s > t): the entries a causal mixer must not use.
/// Shape [R, B, L, L].
pub fn future_mask<B: Backend>(r: usize, b: usize, l: usize, device: &B::Device) -> Tensor<B, 4, Bool> {
    Tensor::<B, 2, Bool>::tril_mask([l, l], 0, device)
        .reshape([1, 1, l, l])
        .expand([r, b, l, l])
}
