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

    /// Whether layer i of n is the last and nothing records or edits it: then only its last
    /// position reaches the logits, and a model may compute that position alone
    /// (transformer::LAST_QUERY, mamba2::LAST_POSITION).
    pub fn last_layer_untouched(&self, i: usize, n: usize) -> bool {
        i + 1 == n && !self.record && self.layer(i).is_none()
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

impl<B: Backend> LayerProbe<B> {
    /// Blocking (fig4a): S[t, s] is zeroed where `blocked` is 1. blocked: broadcastable to
    /// [R, B, L, L]; all zeros blocks nothing.
    pub fn blocking(blocked: Tensor<B, 4>) -> Self {
        Self {
            mixing_mask: Some(blocked.neg().add_scalar(1.0)),
            substitution: None,
        }
    }
}

/// The edges from each sequence's `sources` to every later token, as a blocking pattern
/// [1, B, L, L]: blocked[b, t, s] = 1 for s in sources[b] and t > s, else 0 (the diagonal
/// S[s, s], a token reading itself, stays). No sources: all zeros.
pub fn later_edges<B: Backend>(sources: &[Vec<usize>], l: usize, device: &B::Device) -> Tensor<B, 4> {
    edges_into(sources, &vec![0; sources.len()], l, device)
}

/// As [`later_edges`], restricted to the targets t >= first_target[b]: with first_target
/// the position after the second anchor, the key -> anchor and anchor -> anchor edges stay
/// and only what flows on to the tokens after the anchors is blocked.
pub fn edges_into<B: Backend>(
    sources: &[Vec<usize>],
    first_target: &[usize],
    l: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    let mut v = vec![0.0f32; sources.len() * l * l];
    for (b, (srcs, &first)) in sources.iter().zip(first_target).enumerate() {
        for &s in srcs.iter().filter(|&&s| s < l) {
            for t in (s + 1).max(first)..l {
                v[(b * l + t) * l + s] = 1.0;
            }
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(v, [1, sources.len(), l, l]), device)
}

/// Positions `from[b]..L` of each sequence as a substitution mask [1, B, L, 1] (fig4b: the
/// tokens after the anchors). from[b] >= L marks nothing in that sequence.
pub fn positions_from<B: Backend>(from: &[usize], l: usize, device: &B::Device) -> Tensor<B, 4> {
    let v: Vec<f32> = from
        .iter()
        .flat_map(|&f| (0..l).map(move |t| if t >= f { 1.0 } else { 0.0 }))
        .collect();
    Tensor::from_data(burn::tensor::TensorData::new(v, [1, from.len(), l, 1]), device)
}
