//! The initialization rate gamma (SPEC 2.3): every weight W in R^{d1 x d2} ~ N(0, (d1^-gamma)^2).
//!
//! Weights are drawn on the host from a ChaCha8 stream chosen by (replica seed, tensor name),
//! then uploaded, so a replica's initial weights are the same on the CPU and on CUDA, and
//! adding a tensor to the model does not move the draws of the others.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData, backend::Backend};
use msym_config::InitRule;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// d1 of a weight given its shape in PyTorch's layout: the first dimension, or the fan-in
/// (the product of the other dimensions, as torch.nn.init computes it: `in` for a linear
/// [out, in], `d` for an embedding [vocab, d], `kernel` for a depthwise conv [C, 1, K]).
pub fn d1(torch_shape: &[usize], rule: InitRule) -> usize {
    match rule {
        InitRule::FirstDim => torch_shape[0],
        InitRule::FanIn => torch_shape[1..].iter().product(),
    }
}

/// The standard deviation d1^-gamma.
pub fn init_std(torch_shape: &[usize], rule: InitRule, gamma: f64) -> f64 {
    (d1(torch_shape, rule) as f64).powf(-gamma)
}

/// One replica's seed and gamma: a sweep trains e.g. 12 gammas x 3 seeds side by side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaInit {
    pub seed: u64,
    pub gamma: f64,
}

/// Draws every parameter of an R-replica model.
#[derive(Debug, Clone)]
pub struct Initializer<'a> {
    pub replicas: &'a [ReplicaInit],
    pub rule: InitRule,
}

/// FNV-1a of the tensor name: selects the ChaCha stream of that tensor.
fn stream_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The generator of tensor `name` in the replica with `seed`.
pub fn tensor_rng(seed: u64, name: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream_of(name));
    rng
}

/// Uniform in [0, 1) with 53 random bits.
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `n` standard normal draws (Box-Muller, both outputs used).
pub fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1 = 1.0 - unit(rng); // (0, 1]: ln is finite
        let u2 = unit(rng);
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        out.extend([r * c, r * s]);
    }
    out.truncate(n);
    out
}

/// Inverse of softplus: x + ln(1 - e^-x), so that softplus(inv_softplus(dt)) = dt.
pub fn inv_softplus(x: f64) -> f64 {
    x + (-(-x).exp_m1()).ln()
}

impl Initializer<'_> {
    pub fn n_replicas(&self) -> usize {
        self.replicas.len()
    }

    fn upload<B: Backend, const D: usize>(
        &self,
        values: Vec<f64>,
        shape: [usize; D],
        device: &B::Device,
    ) -> Tensor<B, D> {
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// A weight of per-replica PyTorch shape `torch_shape`, stored as [R, ..store_shape]
    /// (same number of elements; e.g. a conv [C, 1, K] stored as [C, K]).
    pub fn weight<B: Backend, const D: usize>(
        &self,
        name: &str,
        torch_shape: &[usize],
        store_shape: [usize; D],
        device: &B::Device,
    ) -> Param<Tensor<B, D>> {
        let n: usize = torch_shape.iter().product();
        assert_eq!(
            store_shape[0],
            self.n_replicas(),
            "{name}: leading dim is the replica dim"
        );
        assert_eq!(
            store_shape[1..].iter().product::<usize>(),
            n,
            "{name}: store shape must hold the torch shape"
        );
        let mut values = Vec::with_capacity(n * self.n_replicas());
        for r in self.replicas {
            let std = init_std(torch_shape, self.rule, r.gamma);
            values.extend(normals(&mut tensor_rng(r.seed, name), n).into_iter().map(|z| z * std));
        }
        Param::from_tensor(self.upload(values, store_shape, device))
    }

    /// A parameter with the same value everywhere (norm weights 1, D = 1, conv bias 0).
    pub fn constant<B: Backend, const D: usize>(
        &self,
        shape: [usize; D],
        value: f64,
        device: &B::Device,
    ) -> Param<Tensor<B, D>> {
        Param::from_tensor(Tensor::full(shape, value, device))
    }

    /// Per-replica draws of a small parameter: `draw(rng)` gives one element.
    pub fn drawn<B: Backend, const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &B::Device,
        mut draw: impl FnMut(&mut ChaCha8Rng) -> f64,
    ) -> Param<Tensor<B, D>> {
        let per: usize = shape[1..].iter().product();
        let mut values = Vec::with_capacity(per * self.n_replicas());
        for r in self.replicas {
            let mut rng = tensor_rng(r.seed, name);
            values.extend((0..per).map(|_| draw(&mut rng)));
        }
        Param::from_tensor(self.upload(values, shape, device))
    }

    /// Mamba2's A_log = ln U(1, 16).
    pub fn a_log<B: Backend, const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &B::Device,
    ) -> Param<Tensor<B, D>> {
        self.drawn(name, shape, device, |rng| (1.0 + 15.0 * unit(rng)).ln())
    }

    /// Mamba2's dt_bias = inv_softplus(dt), dt log-uniform in [1e-3, 0.1], floored at 1e-4.
    pub fn dt_bias<B: Backend, const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &B::Device,
    ) -> Param<Tensor<B, D>> {
        let (lo, hi) = (1e-3f64.ln(), 0.1f64.ln());
        self.drawn(name, shape, device, |rng| {
            inv_softplus((lo + (hi - lo) * unit(rng)).exp().max(1e-4))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d1_follows_the_rule() {
        assert_eq!(d1(&[385, 32], InitRule::FirstDim), 385);
        assert_eq!(d1(&[385, 32], InitRule::FanIn), 32);
        assert_eq!(d1(&[384, 1, 4], InitRule::FirstDim), 384);
        assert_eq!(d1(&[384, 1, 4], InitRule::FanIn), 4);
        assert!((init_std(&[100, 3], InitRule::FirstDim, 0.5) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn normals_have_unit_moments() {
        let z = normals(&mut tensor_rng(1, "x"), 200_000);
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / z.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.01, "{mean} {var}");
    }

    #[test]
    fn streams_differ_by_name_and_seed() {
        let a = normals(&mut tensor_rng(1, "a"), 4);
        assert_eq!(a, normals(&mut tensor_rng(1, "a"), 4));
        assert_ne!(a, normals(&mut tensor_rng(1, "b"), 4));
        assert_ne!(a, normals(&mut tensor_rng(2, "a"), 4));
    }

    #[test]
    fn inv_softplus_inverts_softplus() {
        for x in [1e-4, 1e-3, 0.05, 0.1, 2.0] {
            let sp = |y: f64| (1.0 + y.exp()).ln();
            assert!((sp(inv_softplus(x)) - x).abs() < 1e-12 * x.max(1.0), "{x}");
        }
    }
}
