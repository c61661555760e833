//! Probes for the analyses of SPEC section 4 (fig4, fig4a, fig4b): record the SSM matrix S,
//! the post-convolution states and each layer's output; edit S with a mask (blocking) or
//! replace post-convolution states (substitution). A forward without probes does none of it.

use burn::tensor::{Tensor, backend::Backend};

/// Replace post-conv states where `mask` is 1: post' = post * (1 - mask) + states * mask.
#[derive(Debug, Clone)]
pub struct Substitution<B: Backend> {
    /// [R, B, L, C] with C = d_inner + 2 d_state (x, B, C after conv and SiLU)
    pub states: Tensor<B, 4>,
    /// [R or 1, B, L, 1]: 1 at the positions to replace, 0 elsewhere
    pub mask: Tensor<B, 4>,
}

/// What to do in one layer.
#[derive(Debug, Clone, Default)]
pub struct LayerProbe<B: Backend> {
    /// Multiplies the token-mixing matrix elementwise (broadcastable to [R, B, L, L]):
    /// S for Mamba2, the attention probabilities for the Transformer. 0 blocks an edge.
    pub mixing_mask: Option<Tensor<B, 4>>,
    pub substitution: Option<Substitution<B>>,
}

/// Probes for a whole model: `layers[i]` applies to layer i (missing entries do nothing).
#[derive(Debug, Clone, Default)]
pub struct Probes<B: Backend> {
    pub record: bool,
    pub layers: Vec<LayerProbe<B>>,
}

impl<B: Backend> Probes<B> {
    /// Record everything, edit nothing.
    pub fn record() -> Self {
        Self {
            record: true,
            layers: Vec::new(),
        }
    }

    pub fn layer(&self, i: usize) -> Option<&LayerProbe<B>> {
        self.layers.get(i)
    }
}

/// What one layer recorded (all None unless `Probes::record`).
#[derive(Debug, Clone)]
pub struct LayerRecord<B: Backend> {
    /// The token-mixing matrix as used (after any mask), [R, B, L, L]: the SSM matrix S
    /// for Mamba2, the attention probabilities for the Transformer.
    pub mixing: Option<Tensor<B, 4>>,
    /// Post-conv states [R, B, L, C] (after any substitution). None without a conv.
    pub post_conv: Option<Tensor<B, 4>>,
    /// The mixer's output before the residual add: [R, B, L, D].
    pub mixer_out: Tensor<B, 4>,
    /// The layer's output (residual stream): [R, B, L, D].
    pub hidden: Tensor<B, 4>,
}
