//! The model of an experiment, whichever architecture its config names, built for a set
//! of replicas (seed, gamma) with one gamma rule.

use burn::module::Module;
use burn::tensor::{Int, Tensor, backend::Backend};
use msym_config::{ExperimentConfig, InitRule, ModelConfig};

use crate::init::{Initializer, ReplicaInit};
use crate::mamba2_lm::{Mamba2Lm, Mamba2LmConfig};
use crate::params::{ParamVisitor, VisitParams};
use crate::probes::{LayerRecord, Probes};
use crate::transformer_lm::{TransformerLm, TransformerLmConfig};

#[derive(Module, Debug)]
pub enum Model<B: Backend> {
    Mamba2(Mamba2Lm<B>),
    Transformer(TransformerLm<B>),
}

/// Builds the model of `cfg` (its task fixes the vocabulary and sequence length) with one
/// replica per entry of `replicas`.
pub fn build_model<B: Backend>(cfg: &ExperimentConfig, replicas: &[ReplicaInit], device: &B::Device) -> Model<B> {
    let rule = cfg.init.rule.unwrap_or(InitRule::FirstDim);
    let init = Initializer { replicas, rule };
    let (vocab, max_len, tied_head) = (cfg.task.vocab_size() as usize, cfg.task.seq_len(), cfg.init.tied_head);
    match &cfg.model {
        ModelConfig::Mamba2(m) => Model::Mamba2(
            Mamba2LmConfig {
                block: m.clone(),
                vocab,
                max_len,
                tied_head,
            }
            .init(&init, device),
        ),
        ModelConfig::Transformer(t) => Model::Transformer(
            TransformerLmConfig {
                block: t.clone(),
                vocab,
                max_len,
                tied_head,
            }
            .init(&init, device),
        ),
    }
}

impl<B: Backend> Model<B> {
    /// tokens: [R, B, L] -> logits at the last position [R, B, V].
    pub fn forward(&self, tokens: Tensor<B, 3, Int>) -> Tensor<B, 3> {
        match self {
            Model::Mamba2(m) => m.forward(tokens),
            Model::Transformer(m) => m.forward(tokens),
        }
    }

    pub fn forward_probed(&self, tokens: Tensor<B, 3, Int>, probes: &Probes<B>) -> (Tensor<B, 3>, Vec<LayerRecord<B>>) {
        match self {
            Model::Mamba2(m) => m.forward_probed(tokens, probes),
            Model::Transformer(m) => m.forward_probed(tokens, probes),
        }
    }

    /// Every position through the final norm and head: [R, B, L, D] -> [R, B, L, V].
    pub fn decode(&self, h: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            Model::Mamba2(m) => m.decode(h),
            Model::Transformer(m) => m.decode(h),
        }
    }
}

impl<B: Backend> VisitParams<B> for Model<B> {
    fn visit_params<V: ParamVisitor<B>>(&mut self, prefix: &str, v: &mut V) {
        match self {
            Model::Mamba2(m) => m.visit_params(prefix, v),
            Model::Transformer(m) => m.visit_params(prefix, v),
        }
    }
}
