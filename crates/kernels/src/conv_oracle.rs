//! The slow, obvious conv + SiLU in f64 on the host, and central finite differences of
//! sum(g * out): the oracle of the conv kernels' tests (as `oracle` is the SSD's); and the
//! xBC product with its two gradients, for the fused product + conv.

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

/// The gradients of sum(dxbc * [`projection`]) in f64: du [R, B, L, D] = dxbc W and dW^T
/// [R, D, C] = u^T dxbc summed over each replica's tokens, read off the definition (the oracle
/// of [`crate::proj_conv_mma_backward::backward_product`]).
pub fn projection_grads(s: &crate::proj_conv::ProjConvShape, u: &[f64], wx: &[f64], dxbc: &[f64]) -> [Vec<f64>; 2] {
    let (d, ch, l) = (s.d_model, s.conv.channels, s.conv.len);
    let tokens = s.conv.replicas * s.conv.batch * l;
    let mut du = vec![0.0; tokens * d];
    let mut dwt = vec![0.0; s.conv.replicas * d * ch];
    for tok in 0..tokens {
        let r = tok / (s.conv.batch * l);
        for k in 0..d {
            du[tok * d + k] = (0..ch).map(|c| dxbc[tok * ch + c] * wx[(r * ch + c) * d + k]).sum();
            for c in 0..ch {
                dwt[(r * d + k) * ch + c] += u[tok * d + k] * dxbc[tok * ch + c];
            }
        }
    }
    [du, dwt]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proj_conv::ProjConvShape;

    /// The product's gradients against central differences of sum(dxbc * projection), on
    /// every element of u and of wx (dW^T transposed back to wx's [R, C, D]).
    #[test]
    fn projection_grads_match_finite_differences() {
        let s = ProjConvShape::new(2, 3, 2, 4, 2, 3);
        let wave = |n: usize, a: f64| (0..n).map(|i| ((i as f64) * a).sin()).collect::<Vec<_>>();
        let (u, wx) = (wave(2 * 3 * 2 * 3, 0.7), wave(2 * 4 * 3, 1.3));
        let dxbc = wave(2 * 3 * 2 * 4, 0.45);
        let loss = |u: &[f64], wx: &[f64]| -> f64 { projection(&s, u, wx).iter().zip(&dxbc).map(|(x, g)| x * g).sum() };
        let fd = |v: &[f64], at: &dyn Fn(&[f64]) -> f64| -> Vec<f64> {
            (0..v.len())
                .map(|i| {
                    let shifted = |e: f64| {
                        let mut q = v.to_vec();
                        q[i] += e;
                        at(&q)
                    };
                    (shifted(1e-4) - shifted(-1e-4)) / 2e-4
                })
                .collect()
        };
        let [du, dwt] = projection_grads(&s, &u, &wx, &dxbc);
        let want_du = fd(&u, &|q| loss(q, &wx));
        let want_dwx = fd(&wx, &|q| loss(&u, q));
        let (d, c) = (3, 4);
        for (i, (g, w)) in du.iter().zip(&want_du).enumerate() {
            assert!((g - w).abs() < 1e-8, "du[{i}]: {g} against {w}");
        }
        for r in 0..2 {
            for ci in 0..c {
                for k in 0..d {
                    let (g, w) = (dwt[(r * d + k) * c + ci], want_dwx[(r * c + ci) * d + k]);
                    assert!((g - w).abs() < 1e-8, "dW[{r}, {ci}, {k}]: {g} against {w}");
                }
            }
        }
    }
}
