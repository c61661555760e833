//! The slow, obvious gated RMSNorm in f64 on the host, and central finite differences of
//! sum(g * out): the oracle of the gated-norm kernels' tests (as `conv_oracle` is the conv's).

use crate::gated_norm::NormShape;

/// Host copies of the inputs, laid out as [`NormShape`] says (z is not read without the gate).
#[derive(Debug, Clone)]
pub struct NormHost {
    pub y: Vec<f64>,
    pub z: Vec<f64>,
    pub w: Vec<f64>,
}

/// Which input a finite difference perturbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormField {
    Y,
    Z,
    W,
}

/// out [R, T, E] = v / sqrt(mean(v^2) + eps) * w per token, v = y * z * sigmoid(z) with the
/// gate, v = y without: the definition as `models::ops::rms_norm(y.mul(silu(z)), w, eps)`
/// (and `rms_norm(y, w, eps)`) computes it.
pub fn gated_norm(s: &NormShape, h: &NormHost, eps: f64) -> Vec<f64> {
    let e = s.e;
    let mut out = vec![0.0; s.x_len()];
    for tok in 0..s.replicas * s.tokens {
        let r = tok / s.tokens;
        let row = tok * e..(tok + 1) * e;
        let v: Vec<f64> = row
            .clone()
            .map(|k| {
                if s.gated {
                    h.y[k] * h.z[k] / (1.0 + (-h.z[k]).exp())
                } else {
                    h.y[k]
                }
            })
            .collect();
        let rms = (v.iter().map(|x| x * x).sum::<f64>() / e as f64 + eps).sqrt();
        for (i, k) in row.enumerate() {
            out[k] = v[i] / rms * h.w[r * e + i];
        }
    }
    out
}

/// d sum(g * out) / d field, by central differences of step `step` on every element.
pub fn finite_difference(s: &NormShape, h: &NormHost, g: &[f64], field: NormField, eps: f64, step: f64) -> Vec<f64> {
    let loss = |h: &NormHost| -> f64 { gated_norm(s, h, eps).iter().zip(g).map(|(o, g)| o * g).sum() };
    let n = match field {
        NormField::Y | NormField::Z => h.y.len(),
        NormField::W => h.w.len(),
    };
    (0..n)
        .map(|i| {
            let at = |delta: f64| {
                let mut q = h.clone();
                match field {
                    NormField::Y => q.y[i] += delta,
                    NormField::Z => q.z[i] += delta,
                    NormField::W => q.w[i] += delta,
                }
                loss(&q)
            };
            (at(step) - at(-step)) / (2.0 * step)
        })
        .collect()
}
