//! What precision the backend's f32 matmul really computes in.
//!
//! Why: on CUDA, burn 0.21 (without its `autotune` feature) sends every matmul to cubek's
//! `Strategy::Auto`, which tries a tensor-core kernel first, and cubek hands such a kernel
//! f32 inputs as TF32 (10 mantissa bits, not 23) where the card supports it
//! (`cubek_matmul::definition::adjust_dtypes`). A run labelled f32 may then multiply in
//! TF32, as PyTorch does only when asked (`allow_tf32`). Which kernel runs is the library's
//! choice and may change with the build or the card, so it is measured, not assumed: one
//! product on the device, compared on sampled entries with an f64 oracle, and with what f32,
//! TF32 and bf16 inputs would give on the same entries (host emulations). The verdict is
//! the emulation nearest to the measured error (on a log scale).

use burn::tensor::{Tensor, TensorData, backend::Backend};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Entries of the product compared with the oracle (all of them when the product is smaller).
const SAMPLES: usize = 4096;

/// One product's verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MatmulProbe {
    /// [m, k, n]: [m, k] x [k, n]
    pub shape: [usize; 3],
    /// sqrt(sum (device - exact)^2 / sum exact^2) over the sampled entries
    pub rel_rms_error: f64,
    /// The same error for the host emulations: f32 inputs with a sequential f32 sum, TF32
    /// inputs (rounded to 10 mantissa bits) and bf16 inputs (7 bits), each summed in f32.
    pub expected: Expected,
    /// "f32", "tf32" or "bf16": the emulation whose error is nearest to the measured one.
    pub computes_like: &'static str,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Expected {
    pub f32: f64,
    pub tf32: f64,
    pub bf16: f64,
}

/// `x` rounded to `bits` mantissa bits, to nearest with ties away from zero (CUDA's
/// cvt.rna.tf32.f32); the exponent carries where the mantissa overflows.
pub fn round_mantissa(x: f32, bits: u32) -> f32 {
    let drop = 23 - bits;
    let u = x.to_bits();
    f32::from_bits((u + (1 << (drop - 1))) & !((1u32 << drop) - 1))
}

/// Uniform values in [-1, 1), exact in f32 (24-bit fractions), from a fixed stream.
fn uniform(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0)
        .collect()
}

/// The sampled entries (i, j) of an m x n product: a fixed spread over all rows and columns.
fn entries(m: usize, n: usize) -> Vec<(usize, usize)> {
    if m * n <= SAMPLES {
        return (0..m).flat_map(|i| (0..n).map(move |j| (i, j))).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..SAMPLES)
        .map(|_| (rng.next_u32() as usize % m, rng.next_u32() as usize % n))
        .collect()
}

/// The error of `got` (one value per entry) against the exact product.
fn rel_rms(got: &[f64], exact: &[f64]) -> f64 {
    let (num, den) = got
        .iter()
        .zip(exact)
        .fold((0.0, 0.0), |(n, d), (g, e)| (n + (g - e) * (g - e), d + e * e));
    (num / den).sqrt()
}

/// The probe's verdict for a measured error, given the emulations' errors.
pub fn nearest(measured: f64, e: &Expected) -> &'static str {
    let dist = |x: f64| (measured.max(1e-12).log10() - x.max(1e-12).log10()).abs();
    [("f32", e.f32), ("tf32", e.tf32), ("bf16", e.bf16)]
        .into_iter()
        .min_by(|a, b| dist(a.1).total_cmp(&dist(b.1)))
        .map(|(name, _)| name)
        .expect("three candidates")
}

/// Compares `device_product` (the m x n product of `a` [m, k] and `b` [k, n], row-major, as
/// the device computed it) with the oracle and the emulations on the sampled entries.
pub fn judge(a: &[f32], b: &[f32], device_product: &[f32], [m, k, n]: [usize; 3]) -> MatmulProbe {
    let at = entries(m, n);
    let dot = |i: usize, j: usize, round: &dyn Fn(f32) -> f32| -> f32 {
        (0..k).fold(0.0f32, |s, p| s + round(a[i * k + p]) * round(b[p * n + j]))
    };
    let exact: Vec<f64> = at
        .iter()
        .map(|&(i, j)| (0..k).map(|p| a[i * k + p] as f64 * b[p * n + j] as f64).sum())
        .collect();
    let emulated = |round: &dyn Fn(f32) -> f32| -> f64 {
        let got: Vec<f64> = at.iter().map(|&(i, j)| dot(i, j, round) as f64).collect();
        rel_rms(&got, &exact)
    };
    let expected = Expected {
        f32: emulated(&|x| x),
        tf32: emulated(&|x| round_mantissa(x, 10)),
        bf16: emulated(&|x| round_mantissa(x, 7)),
    };
    let got: Vec<f64> = at.iter().map(|&(i, j)| device_product[i * n + j] as f64).collect();
    let rel_rms_error = rel_rms(&got, &exact);
    MatmulProbe {
        shape: [m, k, n],
        rel_rms_error,
        computes_like: nearest(rel_rms_error, &expected),
        expected,
    }
}

/// One [m, k] x [k, n] product of uniform values on `device` in the backend's float type.
pub fn probe_matmul<B: Backend>(device: &B::Device, [m, k, n]: [usize; 3]) -> MatmulProbe {
    let mut rng = ChaCha8Rng::seed_from_u64(((m * 31 + k) * 31 + n) as u64);
    let a = uniform(&mut rng, m * k);
    let b = uniform(&mut rng, k * n);
    let ta = Tensor::<B, 2>::from_data(TensorData::new(a.clone(), [m, k]), device);
    let tb = Tensor::<B, 2>::from_data(TensorData::new(b.clone(), [k, n]), device);
    // through the models' own matmul, so that MSYM_F32_MATMUL shows here as it trains
    let product = crate::f32_matmul::matmul(ta.unsqueeze::<4>(), tb.unsqueeze::<4>())
        .into_data()
        .convert::<f32>();
    judge(&a, &b, product.as_slice::<f32>().expect("f32 data"), [m, k, n])
}

/// The shapes a run records: a projection of the fig3 model (R = 1, a batch of 2048 x 8
/// tokens: the split in_proj's z product, [16384, 32] x [32, 64]) and the fig6
/// Transformer's FFN ([2048 tokens, 400] x [400, 1200]).
pub const RUN_SHAPES: [[usize; 3]; 2] = [[16384, 32, 64], [2048, 400, 1200]];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_the_top_bits_and_rounds_to_nearest() {
        // 1 + 2^-11 is half a TF32 step above 1: a tie, away from zero
        assert_eq!(round_mantissa(1.0 + 2f32.powi(-11), 10), 1.0 + 2f32.powi(-10));
        assert_eq!(round_mantissa(-(1.0 + 2f32.powi(-11)), 10), -(1.0 + 2f32.powi(-10)));
        // just below the tie: down
        assert_eq!(round_mantissa(1.0 + 2f32.powi(-12), 10), 1.0);
        // the mantissa overflows into the exponent
        assert_eq!(round_mantissa(2.0 - 2f32.powi(-20), 10), 2.0);
        // bf16 keeps 7 bits: 1 + 2^-7 stays, 1 + 2^-9 goes
        assert_eq!(round_mantissa(1.0 + 2f32.powi(-7), 7), 1.0 + 2f32.powi(-7));
        assert_eq!(round_mantissa(1.0 + 2f32.powi(-9), 7), 1.0);
    }

    /// A product computed on the host from rounded inputs is judged as that precision: the
    /// verdict follows the inputs' mantissa, not a threshold tuned to one shape.
    #[test]
    fn a_host_product_of_rounded_inputs_gets_its_precision() {
        let [m, k, n] = [64, 400, 96];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (a, b) = (uniform(&mut rng, m * k), uniform(&mut rng, k * n));
        for (bits, name) in [(23, "f32"), (10, "tf32"), (7, "bf16")] {
            let r = |x: f32| if bits == 23 { x } else { round_mantissa(x, bits) };
            // summed in f64, then stored as f32: another order than the emulations' f32 sum
            let product: Vec<f32> = (0..m * n)
                .map(|e| {
                    (0..k)
                        .map(|p| r(a[e / n * k + p]) as f64 * r(b[p * n + e % n]) as f64)
                        .sum::<f64>() as f32
                })
                .collect();
            let probe = judge(&a, &b, &product, [m, k, n]);
            assert_eq!(probe.computes_like, name, "{bits} bits: {probe:?}");
        }
    }

    #[test]
    fn the_errors_are_ordered_and_of_the_expected_size() {
        let p = probe_matmul::<burn::backend::NdArray<f32>>(&Default::default(), [128, 400, 256]);
        eprintln!("{p:?}");
        // f32 sums of 400 products: ~1e-7; TF32 inputs: ~2^-11 / sqrt(3) a factor; bf16: 8x that
        assert!(p.expected.f32 < 1e-6, "{p:?}");
        assert!((5e-5..1e-3).contains(&p.expected.tf32), "{p:?}");
        assert!((p.expected.bf16 / p.expected.tf32 - 8.0).abs() < 2.0, "{p:?}");
        assert_eq!(p.computes_like, "f32", "{p:?}");
    }
}
