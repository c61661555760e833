//! Cross-entropy at the last position, per replica.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, backend::Backend};

/// Mean cross-entropy of each replica. logits: [R, B, V], labels: [R, B] -> [R].
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 3>, labels: Tensor<B, 2, Int>) -> Tensor<B, 1> {
    let [r, b, _] = logits.dims();
    let logp = log_softmax(logits, 2);
    logp.gather(2, labels.reshape([r, b, 1]))
        .reshape([r, b])
        .mean_dim(1)
        .reshape([r])
        .neg()
}
