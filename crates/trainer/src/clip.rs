//! Global-norm gradient clipping per replica, as torch.nn.utils.clip_grad_norm_ does for
//! one model: the norm is taken over all parameters of the replica together (not per
//! tensor), and gradients are scaled by min(1, max_norm / (norm + 1e-6)).

use burn::tensor::{Tensor, backend::Backend};

/// Scales every gradient of replica r by min(1, max_norm / (norm_r + 1e-6)); max_norm = 0
/// turns clipping off. row: all gradients laid out in one row per replica (crate::flat),
/// [R, P]; norm: [R, 1].
pub fn clip_row<B: Backend>(row: Tensor<B, 2>, norm: &Tensor<B, 2>, max_norm: f64) -> Tensor<B, 2> {
    if max_norm <= 0.0 {
        return row;
    }
    let coef = norm
        .clone()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0); // [R, 1]
    row.mul(coef)
}
