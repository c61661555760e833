//! Activations written in the backend's own precision and in overflow-free forms.
//! burn 0.21's `sigmoid` (and so `silu`) rounds through f32, which broke the f64
//! finite-difference checks, and its `softplus` is log(exp(x) + 1), which overflows to inf
//! for x > 88 in f32; a training run must not turn a large dt into a NaN.

use burn::tensor::{Tensor, backend::Backend};

/// sigmoid(x) = (1 + tanh(x / 2)) / 2: no exp to overflow, and tanh's backward (1 - y^2)
/// stays finite everywhere.
pub fn sigmoid<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.mul_scalar(0.5).tanh().add_scalar(1.0).mul_scalar(0.5)
}

/// SiLU(x) = x * sigmoid(x).
pub fn silu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().mul(sigmoid(x))
}

/// softplus(x) = max(x, 0) + ln(1 + exp(-|x|)).
pub fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0).add(x.abs().neg().exp().log1p())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    fn eval(f: fn(Tensor<NdArray<f64>, 1>) -> Tensor<NdArray<f64>, 1>, xs: &[f64]) -> Vec<f64> {
        // from_data, not from_floats: from_floats rounds through f32.
        let x = Tensor::from_data(
            burn::tensor::TensorData::new(xs.to_vec(), [xs.len()]),
            &Default::default(),
        );
        f(x).into_data().to_vec::<f64>().unwrap()
    }

    #[test]
    fn match_their_definitions_in_f64() {
        let xs = [-30.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0];
        for (x, y) in xs.iter().zip(eval(sigmoid, &xs)) {
            assert!((y - 1.0 / (1.0 + (-x).exp())).abs() < 1e-14, "sigmoid({x}) = {y}");
        }
        for (x, y) in xs.iter().zip(eval(silu, &xs)) {
            assert!((y - x / (1.0 + (-x).exp())).abs() < 1e-14, "silu({x})");
        }
        for (x, y) in xs.iter().zip(eval(softplus, &xs)) {
            assert!((y - (1.0 + x.exp()).ln()).abs() < 1e-14, "softplus({x})");
        }
    }

    #[test]
    fn softplus_does_not_overflow() {
        let y = eval(softplus, &[1000.0, -1000.0]);
        assert_eq!(y, vec![1000.0, 0.0]);
    }
}
