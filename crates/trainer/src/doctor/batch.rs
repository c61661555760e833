//! The rows the checks feed the model: the first training rows in dataset order (the
//! dataset is shuffled once at generation, so they mix every trained group).

use anchor_data::Dataset;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

/// Tokens [1, b, L] and labels [1, b] of the first `b` training rows (fewer if the
/// dataset has fewer).
pub fn first_rows<B: Backend>(ds: &Dataset, b: usize, device: &B::Device) -> (Tensor<B, 3, Int>, Tensor<B, 2, Int>) {
    let rows: Vec<usize> = ds.training_indices().into_iter().take(b).collect();
    let l = ds.seq_len;
    let tokens: Vec<i64> = rows
        .iter()
        .flat_map(|&i| ds.sample(i).tokens.iter().map(|&t| i64::from(t)))
        .collect();
    let labels: Vec<i64> = rows.iter().map(|&i| i64::from(ds.labels[i])).collect();
    let n = rows.len();
    (
        Tensor::from_data(TensorData::new(tokens, [1, n, l]), device),
        Tensor::from_data(TensorData::new(labels, [1, n]), device),
    )
}

/// Every value of a tensor on the host, as f64.
pub(crate) fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().expect("float data")
}
