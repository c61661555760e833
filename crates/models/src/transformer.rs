//! One Transformer block (SPEC 2.2), replica-native: post-LayerNorm, one attention head,
//! no biases in the linear maps, optional causal depthwise conv + SiLU on the attention
//! input before Q, K, V (the "Transformer + conv" of Fig. 6):
//! a = conv ? SiLU(conv(h)) : h;  h = LN1(h + Wo softmax(mask(Q K^T / sqrt(d_k))) V);
//! h = LN2(h + W2 act(W1 h)).

use burn::module::{Module, Param};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Tensor, backend::Backend};
use msym_config::{Activation, TransformerConfig};

use crate::activation::silu;
use crate::f32_matmul::matmul;
use crate::grouped::linear;
use crate::init::Initializer;
use crate::ops::{conv_silu, future_mask, layer_norm};
use crate::params::{ParamVisitor, VisitParams};
use crate::precision::{to_dtype, widen};
use crate::probes::{LayerProbe, LayerRecord};
use crate::switch::Switch;

/// LayerNorm epsilon (PyTorch's default).
pub const LN_EPS: f64 = 1e-5;

#[derive(Module, Debug)]
pub struct TransformerBlock<B: Backend> {
    /// [R, D, K] and [R, D] when the block has the conv before Q, K, V
    pub conv_weight: Option<Param<Tensor<B, 3>>>,
    pub conv_bias: Option<Param<Tensor<B, 2>>>,
    /// [R, d_k, D]
    pub q_proj: Param<Tensor<B, 3>>,
    /// [R, d_k, D]
    pub k_proj: Param<Tensor<B, 3>>,
    /// [R, d_v, D]
    pub v_proj: Param<Tensor<B, 3>>,
    /// [R, D, d_v]
    pub o_proj: Param<Tensor<B, 3>>,
    /// [R, D] each
    pub norm1_weight: Param<Tensor<B, 2>>,
    pub norm1_bias: Param<Tensor<B, 2>>,
    /// [R, d_ff, D]
    pub w1: Param<Tensor<B, 3>>,
    /// [R, D, d_ff]
    pub w2: Param<Tensor<B, 3>>,
    pub norm2_weight: Param<Tensor<B, 2>>,
    pub norm2_bias: Param<Tensor<B, 2>>,
    pub config: TransformerConfig,
}

/// Draws a block; `prefix` is its PyTorch-style name (e.g. "layers.0").
pub fn init_block<B: Backend>(
    c: &TransformerConfig,
    prefix: &str,
    init: &Initializer<'_>,
    device: &B::Device,
) -> TransformerBlock<B> {
    let (r, d, k) = (init.n_replicas(), c.d_model, c.d_conv);
    let p = |s: &str| format!("{prefix}.{s}");
    let w = |name: &str, out: usize, inp: usize| init.weight(&p(name), &[out, inp], [r, out, inp], device);
    TransformerBlock {
        conv_weight: c
            .conv_before_qkv
            .then(|| init.weight(&p("conv1d.weight"), &[d, 1, k], [r, d, k], device)),
        conv_bias: c.conv_before_qkv.then(|| init.constant([r, d], 0.0, device)),
        q_proj: w("attn.q_proj.weight", c.d_k, d),
        k_proj: w("attn.k_proj.weight", c.d_k, d),
        v_proj: w("attn.v_proj.weight", c.d_v, d),
        o_proj: w("attn.o_proj.weight", d, c.d_v),
        norm1_weight: init.constant([r, d], 1.0, device),
        norm1_bias: init.constant([r, d], 0.0, device),
        w1: w("ffn.w1.weight", c.d_ff, d),
        w2: w("ffn.w2.weight", d, c.d_ff),
        norm2_weight: init.constant([r, d], 1.0, device),
        norm2_bias: init.constant([r, d], 0.0, device),
        config: c.clone(),
    }
}

/// The last block computed for the last position only (MSYM_LAST_QUERY). Why: the loss and
/// accuracy read the last position alone (SPEC 2), and in the last block every op but the
/// keys and values is per position: its queries, attention output, output projection, norms
/// and FFN at the other L - 1 positions feed nothing. At fig6's depth 4 that is about 19% of
/// the model's FLOPs (the FFN is three quarters of a block's), 38% at depth 2. The same
/// function; only the shapes of the products change, so the sums may run in another order.
/// Off by default until a GPU A/B adopts it (device-batch lastq-check); `set` forces it on
/// any backend (the tests).
pub static LAST_QUERY: Switch = Switch::off_by_default("MSYM_LAST_QUERY");

impl<B: Backend> TransformerBlock<B> {
    /// The block's output at the last position alone, for the last block of a model whose
    /// loss reads only that position (no probe, no record). h: [R, B, L, D] -> [R, B, 1, D].
    pub fn forward_last(&self, h: Tensor<B, 4>) -> Tensor<B, 4> {
        let l = h.dims()[2];
        let attn_in = self.conv_in(&h).unwrap_or_else(|| h.clone());
        let last = |x: Tensor<B, 4>| x.narrow(2, l - 1, 1); // [R, B, 1, C]
        let (scores, v) = self.scores_and_values(last(attn_in.clone()), attn_in); // [R, B, 1, L]
        // the last query sees every position: nothing to mask
        let dtype = scores.dtype();
        let probs = to_dtype(softmax(widen(scores), 3), dtype);
        let mixer_out = linear(matmul(probs, v), self.o_proj.val()); // [R, B, 1, D]
        self.ffn_half(last(h).add(mixer_out)) // [R, B, 1, D]
    }

    /// SiLU(conv(h)), the attention's input where the block has the conv before Q, K, V.
    /// h: [R, B, L, D] -> [R, B, L, D].
    fn conv_in(&self, h: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
        match (&self.conv_weight, &self.conv_bias) {
            (Some(w), Some(b)) => Some(conv_silu(h.clone(), w.val(), b.val())),
            _ => None,
        }
    }

    /// The scaled scores of the queries at `q_in`'s positions against the keys at every
    /// position of `kv_in`, and the values there, unmasked.
    /// q_in: [R, B, Lq, D], kv_in: [R, B, L, D] -> scores [R, B, Lq, L], V [R, B, L, d_v].
    fn scores_and_values(&self, q_in: Tensor<B, 4>, kv_in: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let q = linear(q_in, self.q_proj.val()); // [R, B, Lq, d_k]
        let k = linear(kv_in.clone(), self.k_proj.val()); // [R, B, L, d_k]
        let v = linear(kv_in, self.v_proj.val()); // [R, B, L, d_v]
        let scores = matmul(q, k.transpose()).div_scalar((self.config.d_k as f64).sqrt());
        (scores, v)
    }

    /// The rest of the block after the attention's residual sum x = h + mixer: LN1, the FFN
    /// with its residual, LN2. x: [R, B, L', D] -> [R, B, L', D] (any number of positions).
    fn ffn_half(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let h = layer_norm(x, self.norm1_weight.val(), self.norm1_bias.val(), LN_EPS);
        let hidden_ff = linear(h.clone(), self.w1.val()); // [R, B, L', d_ff]
        let act = match self.config.activation {
            Activation::Relu => relu(hidden_ff),
            Activation::Silu => silu(hidden_ff),
        };
        layer_norm(
            h.add(linear(act, self.w2.val())),
            self.norm2_weight.val(),
            self.norm2_bias.val(),
            LN_EPS,
        )
    }

    /// h: [R, B, L, D] -> [R, B, L, D]; the record (attention, post-conv states) only when asked.
    pub fn forward(
        &self,
        h: Tensor<B, 4>,
        probe: Option<&LayerProbe<B>>,
        record: bool,
    ) -> (Tensor<B, 4>, Option<LayerRecord<B>>) {
        let [r, bsz, l, _] = h.dims();
        let mut post_conv = None;
        let attn_in = match self.conv_in(&h) {
            Some(mut a) => {
                if let Some(sub) = probe.and_then(|p| p.substitution.as_ref()) {
                    a = a
                        .mul(sub.mask.clone().neg().add_scalar(1.0))
                        .add(sub.states.clone().mul(sub.mask.clone()));
                }
                post_conv = Some(a.clone());
                a
            }
            None => h.clone(),
        };
        let (scores, v) = self.scores_and_values(attn_in.clone(), attn_in); // [R, B, L, L]
        // The softmax runs in the master precision, the product with V in the activations'.
        let dtype = scores.dtype();
        let masked = widen(scores).mask_fill(future_mask(r, bsz, l, &h.device()), f64::NEG_INFINITY);
        let mut probs = to_dtype(softmax(masked, 3), dtype);
        if let Some(m) = probe.and_then(|p| p.mixing_mask.clone()) {
            probs = probs.mul(m);
        }
        let mixer_out = linear(matmul(probs.clone(), v), self.o_proj.val()); // [R, B, L, D]
        let out = self.ffn_half(h.add(mixer_out.clone()));
        let rec = record.then(|| LayerRecord {
            mixing: Some(probs),
            post_conv,
            mixer_out,
            hidden: out.clone(),
        });
        (out, rec)
    }
}

impl<B: Backend> VisitParams<B> for TransformerBlock<B> {
    fn visit_params<V: ParamVisitor<B>>(&mut self, prefix: &str, v: &mut V) {
        let c = self.config.clone();
        let (d, p) = (c.d_model, |s: &str| format!("{prefix}.{s}"));
        if let (Some(w), Some(b)) = (self.conv_weight.as_mut(), self.conv_bias.as_mut()) {
            v.visit(&p("conv1d.weight"), &[d, 1, c.d_conv], w);
            v.visit(&p("conv1d.bias"), &[d], b);
        }
        v.visit(&p("attn.q_proj.weight"), &[c.d_k, d], &mut self.q_proj);
        v.visit(&p("attn.k_proj.weight"), &[c.d_k, d], &mut self.k_proj);
        v.visit(&p("attn.v_proj.weight"), &[c.d_v, d], &mut self.v_proj);
        v.visit(&p("attn.o_proj.weight"), &[d, c.d_v], &mut self.o_proj);
        v.visit(&p("norm1.weight"), &[d], &mut self.norm1_weight);
        v.visit(&p("norm1.bias"), &[d], &mut self.norm1_bias);
        v.visit(&p("ffn.w1.weight"), &[c.d_ff, d], &mut self.w1);
        v.visit(&p("ffn.w2.weight"), &[d, c.d_ff], &mut self.w2);
        v.visit(&p("norm2.weight"), &[d], &mut self.norm2_weight);
        v.visit(&p("norm2.bias"), &[d], &mut self.norm2_bias);
    }
}
