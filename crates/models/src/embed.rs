//! Token embedding and output head with a replica dimension.

use burn::tensor::{Int, Tensor, backend::Backend};

/// Looks up tokens in each replica's table. weight: [R, V, D], tokens: [R, B, L] -> [R, B, L, D].
/// The tables are flattened to [R * V, D] and replica r's tokens offset by r * V, so one
/// `select` serves all replicas.
pub fn embed<B: Backend>(weight: Tensor<B, 3>, tokens: Tensor<B, 3, Int>) -> Tensor<B, 4> {
    let [r, v, d] = weight.dims();
    let [_, b, l] = tokens.dims();
    let offsets = Tensor::<B, 1, Int>::arange(0..r as i64, &tokens.device())
        .mul_scalar(v as i64)
        .reshape([r, 1, 1]);
    let flat = tokens.add(offsets).reshape([r * b * l]);
    weight.reshape([r * v, d]).select(0, flat).reshape([r, b, l, d])
}

/// Output head without bias. weight: [R, V, D], x: [R, M, D] -> [R, M, V].
pub fn head<B: Backend>(weight: Tensor<B, 3>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    x.matmul(weight.transpose())
}
