//! The slow, obvious conv + SiLU in f64 on the host, and central finite differences of
//! sum(g * out): the oracle of the conv kernels' tests (as `oracle` is the SSD's).

use crate::conv_silu::ConvShape;

/// Host copies of the inputs, laid out as [`ConvShape`] says.
#[derive(Debug, Clone)]
pub struct ConvHost {
    pub x: Vec<f64>,
    pub w: Vec<f64>,
    pub bias: Vec<f64>,
}

/// Which input a finite difference perturbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvField {
    X,
    W,
    Bias,
}

/// out [R, B, L, C]: every output as its own sum over the K taps, read straight off the
/// definition (PyTorch's Conv1d with groups = C and padding K - 1, cut to L, then SiLU).
pub fn conv_silu(s: &ConvShape, h: &ConvHost) -> Vec<f64> {
    let (l, ch, k) = (s.len, s.channels, s.taps);
    let mut out = vec![0.0; s.x_len()];
    for p in 0..s.replicas * s.batch {
        let r = p / s.batch;
        for t in 0..l {
            for c in 0..ch {
                let mut pre = h.bias[r * ch + c];
                for kk in 0..k {
                    let src = t as isize - (k as isize - 1) + kk as isize;
                    if src >= 0 {
                        pre += h.w[(r * ch + c) * k + kk] * h.x[(p * l + src as usize) * ch + c];
                    }
                }
                out[(p * l + t) * ch + c] = pre / (1.0 + (-pre).exp());
            }
        }
    }
    out
}

/// d sum(g * out) / d field, by central differences of step `eps` on every element.
pub fn finite_difference(s: &ConvShape, h: &ConvHost, g: &[f64], field: ConvField, eps: f64) -> Vec<f64> {
    let loss = |h: &ConvHost| -> f64 { conv_silu(s, h).iter().zip(g).map(|(o, g)| o * g).sum() };
    let n = match field {
        ConvField::X => h.x.len(),
        ConvField::W => h.w.len(),
        ConvField::Bias => h.bias.len(),
    };
    (0..n)
        .map(|i| {
            let at = |delta: f64| {
                let mut q = h.clone();
                match field {
                    ConvField::X => q.x[i] += delta,
                    ConvField::W => q.w[i] += delta,
                    ConvField::Bias => q.bias[i] += delta,
                }
                loss(&q)
            };
            (at(eps) - at(-eps)) / (2.0 * eps)
        })
        .collect()
}

/// xbc [R, B, L, C] = u W^T per token in f64: u [R, B, L, D], wx [R, C, D] (in_proj's xBC
/// rows, PyTorch's [out, in]): the oracle of [`crate::proj_conv`]'s product, before the conv.
pub fn projection(s: &crate::proj_conv::ProjConvShape, u: &[f64], wx: &[f64]) -> Vec<f64> {
    let (d, ch, l) = (s.d_model, s.conv.channels, s.conv.len);
    let tokens = s.conv.replicas * s.conv.batch * l;
    let mut out = vec![0.0; tokens * ch];
    for tok in 0..tokens {
        let r = tok / (s.conv.batch * l);
        for c in 0..ch {
            out[tok * ch + c] = (0..d).map(|k| u[tok * d + k] * wx[(r * ch + c) * d + k]).sum();
        }
    }
    out
}
