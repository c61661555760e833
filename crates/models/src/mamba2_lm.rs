//! The Mamba2 language model of the experiments: embedding (+ optional positional
//! encoding), a stack of Mamba2 blocks, final RMSNorm, linear head; logits at the last
//! position only (the loss and accuracy read nothing else).

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor, backend::Backend};
use msym_config::{Mamba2Config, PosEncoding};

use crate::embed::{embed, head, with_positions};
use crate::init::Initializer;
use crate::mamba2::{BlockDims, LAST_POSITION, Mamba2Block, NORM_EPS, last_position_here};
use crate::ops::{last_position, rms_norm, sinusoidal};
use crate::params::{ParamVisitor, VisitParams};
use crate::precision::to_dtype;
use crate::probes::{LayerRecord, Probes};

/// Everything that fixes the shapes of a Mamba2 LM.
#[derive(Debug, Clone, PartialEq)]
pub struct Mamba2LmConfig {
    pub block: Mamba2Config,
    pub vocab: usize,
    /// Longest sequence (the learned positional table has this many rows).
    pub max_len: usize,
    pub tied_head: bool,
}

#[derive(Module, Debug)]
pub struct Mamba2Lm<B: Backend> {
    /// [R, V, D]
    pub embedding: Param<Tensor<B, 3>>,
    /// Learned positions [R, max_len, D] (only with pos_encoding = "learned")
    pub pos_embedding: Option<Param<Tensor<B, 3>>>,
    pub layers: Vec<Mamba2Block<B>>,
    /// [R, D]
    pub norm_f: Param<Tensor<B, 2>>,
    /// [R, V, D]; None when tied to the embedding
    pub lm_head: Option<Param<Tensor<B, 3>>>,
    pub pos_encoding: PosEncoding,
}

impl Mamba2LmConfig {
    pub fn init<B: Backend>(&self, init: &Initializer<'_>, device: &B::Device) -> Mamba2Lm<B> {
        let (r, v, d, l) = (init.n_replicas(), self.vocab, self.block.d_model, self.max_len);
        let dims = BlockDims::from_config(&self.block);
        Mamba2Lm {
            embedding: init.weight("backbone.embedding.weight", &[v, d], [r, v, d], device),
            pos_embedding: (self.block.pos_encoding == PosEncoding::Learned)
                .then(|| init.weight("backbone.pos_embedding.weight", &[l, d], [r, l, d], device)),
            layers: (0..self.block.depth)
                .map(|i| dims.init(&format!("backbone.layers.{i}"), init, device))
                .collect(),
            norm_f: init.constant([r, d], 1.0, device),
            lm_head: (!self.tied_head).then(|| init.weight("lm_head.weight", &[v, d], [r, v, d], device)),
            pos_encoding: self.block.pos_encoding,
        }
    }
}

impl<B: Backend> Mamba2Lm<B> {
    /// Token embedding plus positions. tokens: [R, B, L] -> [R, B, L, D].
    fn inputs(&self, tokens: Tensor<B, 3, Int>) -> Tensor<B, 4> {
        let x = embed(self.embedding.val(), tokens);
        let [_, _, l, d] = x.dims();
        let device = x.device();
        match (&self.pos_encoding, &self.pos_embedding) {
            (PosEncoding::Learned, Some(p)) => with_positions(x, p.val()),
            (PosEncoding::Sinusoidal, _) => {
                let pe = to_dtype(sinusoidal::<B>(l, d, &device), x.dtype()); // [L, D]
                x.add(pe.reshape([1, 1, l, d]))
            }
            _ => x,
        }
    }

    /// Final norm and head on every position: the per-layer "logit lens" of fig4.
    /// h: [R, B, L, D] -> [R, B, L, V].
    pub fn decode(&self, h: Tensor<B, 4>) -> Tensor<B, 4> {
        let [r, b, l, d] = h.dims();
        let logits = head(
            self.head_weight(),
            rms_norm(h, self.norm_f.val(), NORM_EPS).reshape([r, b * l, d]),
        );
        let v = logits.dims()[2];
        logits.reshape([r, b, l, v])
    }

    fn head_weight(&self) -> Tensor<B, 3> {
        self.lm_head.as_ref().unwrap_or(&self.embedding).val()
    }

    /// tokens: [R, B, L] -> logits at the last position [R, B, V].
    pub fn forward(&self, tokens: Tensor<B, 3, Int>) -> Tensor<B, 3> {
        self.forward_probed(tokens, &Probes::default()).0
    }

    /// As [`forward`](Self::forward), applying `probes` and returning one record per layer
    /// when `probes.record` is set (empty otherwise).
    pub fn forward_probed(&self, tokens: Tensor<B, 3, Int>, probes: &Probes<B>) -> (Tensor<B, 3>, Vec<LayerRecord<B>>) {
        let mut h = self.inputs(tokens);
        let mut records = Vec::new();
        let n = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            // the last block after its SSD at the last position alone, where nothing reads
            // the others
            if probes.last_layer_untouched(i, n) && last_position_here::<B>() {
                LAST_POSITION.count();
                h = layer.forward_last(h); // [R, B, 1, D]
                break;
            }
            let (out, rec) = layer.forward(h, probes.layer(i), probes.record);
            h = out;
            records.extend(rec);
        }
        let last = rms_norm(h, self.norm_f.val(), NORM_EPS);
        (head(self.head_weight(), last_position(last)), records)
    }
}

impl<B: Backend> VisitParams<B> for Mamba2Lm<B> {
    fn visit_params<V: ParamVisitor<B>>(&mut self, _prefix: &str, v: &mut V) {
        let [_, vocab, d] = self.embedding.val().dims();
        v.visit("backbone.embedding.weight", &[vocab, d], &mut self.embedding);
        if let Some(p) = self.pos_embedding.as_mut() {
            let l = p.val().dims()[1];
            v.visit("backbone.pos_embedding.weight", &[l, d], p);
        }
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params(&format!("backbone.layers.{i}"), v);
        }
        v.visit("backbone.norm_f.weight", &[d], &mut self.norm_f);
        if let Some(h) = self.lm_head.as_mut() {
            v.visit("lm_head.weight", &[vocab, d], h);
        }
    }
}
