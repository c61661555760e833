//! The Transformer language model of the 2024 paper (SPEC 2.2): token embedding plus
//! learned absolute positions, post-LN blocks, no final norm, linear head with bias;
//! logits at the last position only.

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor, backend::Backend};
use msym_config::TransformerConfig;

use crate::embed::{embed, head, with_positions};
use crate::grouped::per_channel;
use crate::init::{Initializer, unit};
use crate::ops::last_position;
use crate::params::{ParamVisitor, VisitParams};
use crate::probes::{LayerRecord, Probes};
use crate::transformer::{LAST_QUERY, TransformerBlock, init_block};

#[derive(Debug, Clone, PartialEq)]
pub struct TransformerLmConfig {
    pub block: TransformerConfig,
    pub vocab: usize,
    pub max_len: usize,
    pub tied_head: bool,
}

#[derive(Module, Debug)]
pub struct TransformerLm<B: Backend> {
    /// [R, V, D]
    pub embedding: Param<Tensor<B, 3>>,
    /// [R, max_len, D]
    pub pos_embedding: Param<Tensor<B, 3>>,
    pub layers: Vec<TransformerBlock<B>>,
    /// [R, V, D]; None when tied to the embedding
    pub lm_head: Option<Param<Tensor<B, 3>>>,
    /// [R, V]
    pub lm_head_bias: Param<Tensor<B, 2>>,
}

impl TransformerLmConfig {
    pub fn init<B: Backend>(&self, init: &Initializer<'_>, device: &B::Device) -> TransformerLm<B> {
        let (r, v, d, l) = (init.n_replicas(), self.vocab, self.block.d_model, self.max_len);
        // PyTorch's default Linear bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); biases keep their defaults.
        let bound = 1.0 / (d as f64).sqrt();
        TransformerLm {
            embedding: init.weight("embedding.weight", &[v, d], [r, v, d], device),
            pos_embedding: init.weight("pos_embedding.weight", &[l, d], [r, l, d], device),
            layers: (0..self.block.depth)
                .map(|i| init_block(&self.block, &format!("layers.{i}"), init, device))
                .collect(),
            lm_head: (!self.tied_head).then(|| init.weight("lm_head.weight", &[v, d], [r, v, d], device)),
            lm_head_bias: init.drawn("lm_head.bias", [r, v], device, |rng| bound * (2.0 * unit(rng) - 1.0)),
        }
    }
}

impl<B: Backend> TransformerLm<B> {
    fn head_weight(&self) -> Tensor<B, 3> {
        self.lm_head.as_ref().unwrap_or(&self.embedding).val()
    }

    /// Head on any positions. x: [R, M, D] -> [R, M, V].
    fn logits(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        per_channel(head(self.head_weight(), x), self.lm_head_bias.val(), |y, b| y.add(b))
    }

    /// Head on every position (no final norm in this model). h: [R, B, L, D] -> [R, B, L, V].
    pub fn decode(&self, h: Tensor<B, 4>) -> Tensor<B, 4> {
        let [r, b, l, d] = h.dims();
        let out = self.logits(h.reshape([r, b * l, d]));
        let v = out.dims()[2];
        out.reshape([r, b, l, v])
    }

    /// tokens: [R, B, L] -> logits at the last position [R, B, V].
    pub fn forward(&self, tokens: Tensor<B, 3, Int>) -> Tensor<B, 3> {
        self.forward_probed(tokens, &Probes::default()).0
    }

    pub fn forward_probed(&self, tokens: Tensor<B, 3, Int>, probes: &Probes<B>) -> (Tensor<B, 3>, Vec<LayerRecord<B>>) {
        let x = embed(self.embedding.val(), tokens);
        let mut h = with_positions(x, self.pos_embedding.val());
        let mut records = Vec::new();
        let n = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            // the last block at the last position alone, where nothing reads the others
            if probes.last_layer_untouched(i, n) && LAST_QUERY.on() {
                LAST_QUERY.count();
                h = layer.forward_last(h); // [R, B, 1, D]
                break;
            }
            let (out, rec) = layer.forward(h, probes.layer(i), probes.record);
            h = out;
            records.extend(rec);
        }
        (self.logits(last_position(h)), records)
    }
}

impl<B: Backend> VisitParams<B> for TransformerLm<B> {
    fn visit_params<V: ParamVisitor<B>>(&mut self, _prefix: &str, v: &mut V) {
        let [_, vocab, d] = self.embedding.val().dims();
        let l = self.pos_embedding.val().dims()[1];
        v.visit("embedding.weight", &[vocab, d], &mut self.embedding);
        v.visit("pos_embedding.weight", &[l, d], &mut self.pos_embedding);
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params(&format!("layers.{i}"), v);
        }
        if let Some(h) = self.lm_head.as_mut() {
            v.visit("lm_head.weight", &[vocab, d], h);
        }
        v.visit("lm_head.bias", &[vocab], &mut self.lm_head_bias);
    }
}
