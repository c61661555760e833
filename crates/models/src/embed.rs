//! Token embedding and output head with a replica dimension.

use burn::tensor::{Int, Tensor, backend::Backend};

use crate::f32_matmul::matmul;
use crate::grouped::{groups_within, linear_tokens, per_channel};
use crate::precision::to_dtype;

/// Looks up tokens in each replica's table: through the lookup kernels where the backend,
/// dtype and switch allow them (`fused_embed`, on by default), else as a product with their
/// one-hot codes, whose gradient is a grouped matmul (a `select` has a one-cube backward on
/// CUDA, see crate::grouped). weight: [R, V, D], tokens: [R, B, L] -> [R, B, L, D].
pub fn embed<B: Backend>(weight: Tensor<B, 3>, tokens: Tensor<B, 3, Int>) -> Tensor<B, 4> {
    #[cfg(feature = "cubecl")]
    if let Some(out) = crate::fused_embed::try_fused(&weight, &tokens) {
        return out;
    }
    let [r, v, d] = weight.dims();
    let [_, b, l] = tokens.dims();
    let m = b * l;
    let g = groups_within(m, r * v * d);
    let device = tokens.device();
    let ids = Tensor::<B, 1, Int>::arange(0..v as i64, &device)
        .reshape([1, 1, 1, v])
        .expand([r, g, m / g, v]);
    let one_hot = tokens
        .reshape([r, g, m / g, 1])
        .expand([r, g, m / g, v])
        .equal(ids)
        .float(); // [R, G, M/G, V]
    // [R, G, M/G, V] x [R, 1, V, D], broadcast over G
    matmul(to_dtype(one_hot, weight.dtype()), weight.unsqueeze_dim::<4>(1)).reshape([r, b, l, d])
}

/// Adds learned positions, each replica's table broadcast over the batch (grouped, see
/// crate::grouped). x: [R, B, L, D], table: [R, max_len, D] with max_len >= L -> [R, B, L, D].
pub fn with_positions<B: Backend>(x: Tensor<B, 4>, table: Tensor<B, 3>) -> Tensor<B, 4> {
    let [r, b, l, d] = x.dims();
    let p = table.narrow(1, 0, l).reshape([r, l * d]);
    per_channel(x.reshape([r, b, l * d]), p, |x, p| x.add(p)).reshape([r, b, l, d])
}

/// Output head without bias. weight: [R, V, D], x: [R, M, D] -> [R, M, V].
pub fn head<B: Backend>(weight: Tensor<B, 3>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    linear_tokens(x, weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::{Distribution, TensorData};

    type B = Autodiff<NdArray<f64>>;

    fn random<const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default()).require_grad()
    }

    #[test]
    fn embedding_matches_a_table_lookup_in_value_and_gradient() {
        let (r, v, d) = (2, 7, 3);
        let device = Default::default();
        let toks: Vec<i64> = (0..2 * 4 * 3).map(|i| (i * 5 % 7) as i64).collect();
        let tokens = Tensor::<B, 3, Int>::from_data(TensorData::new(toks.clone(), [r, 4, 3]), &device);
        let w = random([r, v, d]);
        let y = embed(w.clone(), tokens.clone());
        let probe = Tensor::<B, 4>::random(y.dims(), Distribution::Normal(0.0, 1.0), &device);
        let grads = y.clone().mul(probe.clone()).sum().backward();
        // The oracle: row lookups one token at a time, and the gradient as scattered rows.
        let table = w.clone().inner().into_data().to_vec::<f64>().unwrap();
        let p = probe.into_data().to_vec::<f64>().unwrap();
        let got = y.into_data().to_vec::<f64>().unwrap();
        let mut grad = vec![0.0; r * v * d];
        for (i, &t) in toks.iter().enumerate() {
            let rep = i / 12;
            for k in 0..d {
                let row = (rep * v + t as usize) * d + k;
                assert_eq!(got[i * d + k], table[row]);
                grad[row] += p[i * d + k];
            }
        }
        let g = w.grad(&grads).unwrap().into_data().to_vec::<f64>().unwrap();
        for (a, b) in g.iter().zip(&grad) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
