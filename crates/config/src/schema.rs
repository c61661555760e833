//! The experiment file: one TOML document with the sections `[task]`, `[model]`, `[init]`,
//! `[train]` and `[eval]`. Every field has an explicit default (the paper's value where it
//! states one, the project's choice where it does not, marked below); unknown fields are
//! errors. `resolve` fills in the defaults that depend on another section, so the resolved
//! config written next to every output has no implicit value left.

use anchor_data::TaskConfig;
use serde::{Deserialize, Serialize};

/// A whole experiment: what to generate, which model, how to initialise and train it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Free text shown in reports (e.g. which figure the file reproduces).
    #[serde(default)]
    pub description: String,
    /// Which of the paper's figures this config reproduces (one of [`FIGURES`]); `msym
    /// compare` matches results to the paper's numbers by it. Absent: the comparer infers
    /// the figure from the model and task, and says so. Left out of the resolved config when
    /// absent, so configs without it keep their cell ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<String>,
    /// Run seed: weight initialisation and data order (SPEC 3 uses 1, 2, 3).
    #[serde(default = "one")]
    pub seed: u64,
    /// Seed of the generated dataset; absent means "the run seed" (project default, so
    /// seeds 1..3 also draw three datasets). Set it to hold the data fixed across seeds.
    #[serde(default)]
    pub data_seed: Option<u64>,
    pub task: TaskConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub init: InitConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub eval: EvalConfig,
    /// A grid over config fields for `msym sweep` (absent in a single run's config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepConfig>,
}

/// `[sweep]`: `grid` maps dotted field paths to the values to try, e.g.
/// `grid = { "init.gamma" = [0.5, 1.0], "model.depth" = [2, 3], seed = [1, 2, 3] }`.
/// `variants` names sets of fields that change together (a figure's model variants, e.g.
/// `variants.all_ones = { "model.conv" = "all_ones_frozen" }`; a whole section such as
/// `model = { kind = "transformer", ... }` replaces that section). The sweep's cells are
/// the cross product of the variants and the grid, each a full config with those fields set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    #[serde(default)]
    pub grid: std::collections::BTreeMap<String, Vec<toml::Value>>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variants: std::collections::BTreeMap<String, toml::Table>,
}

/// The figure ids of SPEC section 4 (the paper's figures and the plain-Transformer contrast).
pub const FIGURES: [&str; 9] = ["fig3", "fig4", "fig5a", "fig5b", "fig5c", "fig6", "fig7", "supp", "ref"];

fn one() -> u64 {
    1
}

/// The architecture, chosen by `kind` in `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    Mamba2(Mamba2Config),
    Transformer(TransformerConfig),
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Mamba2(Mamba2Config::default())
    }
}

impl ModelConfig {
    /// "mamba2", "transformer" or "transformer+conv".
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Mamba2(_) => "mamba2",
            ModelConfig::Transformer(t) if t.conv_before_qkv => "transformer+conv",
            ModelConfig::Transformer(_) => "transformer",
        }
    }

    pub fn depth(&self) -> usize {
        match self {
            ModelConfig::Mamba2(m) => m.depth,
            ModelConfig::Transformer(t) => t.depth,
        }
    }
}

/// How the depthwise convolution of a Mamba2 block is parameterised (SPEC 2.1, Fig. 5b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvKind {
    Learned,
    AllOnesFrozen,
}

/// Positional encoding added to the token embedding (Fig. 5c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PosEncoding {
    None,
    Sinusoidal,
    Learned,
}

/// SPEC 2.1: single-head Mamba2 with SSD in its quadratic form. Defaults: the fig3 model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mamba2Config {
    pub depth: usize,
    /// D: 32 for the phase diagram, 128 elsewhere.
    pub d_model: usize,
    /// N
    pub d_state: usize,
    /// d_inner = expand * d_model
    pub expand: usize,
    /// Kernel width of the causal depthwise convolution.
    pub d_conv: usize,
    pub conv: ConvKind,
    pub pos_encoding: PosEncoding,
    /// Fig. 7c: the conv input is added to the SSM input.
    pub residual_around_conv: bool,
    /// Supplementary figure: SSM input = conv output * conv input.
    pub gated_residual: bool,
}

impl Default for Mamba2Config {
    fn default() -> Self {
        Self {
            depth: 3,
            d_model: 32,
            d_state: 128,
            expand: 2,
            d_conv: 4,
            conv: ConvKind::Learned,
            pos_encoding: PosEncoding::None,
            residual_around_conv: false,
            gated_residual: false,
        }
    }
}

/// Feed-forward activation of the Transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Silu,
}

/// SPEC 2.2: post-LN, learned positions, one head, no biases but the head's. Defaults: the
/// composite-task model of the 2024 paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformerConfig {
    pub depth: usize,
    pub d_model: usize,
    pub d_k: usize,
    pub d_v: usize,
    pub d_ff: usize,
    pub activation: Activation,
    /// Fig. 6: a causal depthwise conv (kernel `d_conv`) + SiLU on the attention input
    /// before Q, K, V in every block (the paper gives no more detail: project choice).
    pub conv_before_qkv: bool,
    pub d_conv: usize,
}

impl Default for TransformerConfig {
    fn default() -> Self {
        Self {
            depth: 3,
            d_model: 400,
            d_k: 200,
            d_v: 200,
            d_ff: 1200,
            activation: Activation::Relu,
            conv_before_qkv: false,
            d_conv: 4,
        }
    }
}

/// Which dimension d1 of a weight sets its std d1^-gamma (SPEC 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitRule {
    /// d1 = first dimension in PyTorch's layout ([out, in] -> out; embedding -> vocab).
    FirstDim,
    /// d1 = fan-in (in; d_model for the embedding; kernel size for the conv).
    FanIn,
}

/// SPEC 2.3: every weight matrix ~ N(0, (d1^-gamma)^2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InitConfig {
    pub gamma: f64,
    /// Absent: first_dim for Mamba2, fan_in for the Transformer (what the 2024 paper's
    /// code does). The rule decides the phase, so the resolved config always states it.
    pub rule: Option<InitRule>,
    /// Head tied to the embedding (project default: untied).
    pub tied_head: bool,
}

impl Default for InitConfig {
    fn default() -> Self {
        Self {
            gamma: 1.0,
            rule: None,
            tied_head: false,
        }
    }
}

/// Compute precision of the training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    F32,
    /// bf16 compute with f32 master weights and optimizer state (CUDA only).
    Bf16,
}

impl Precision {
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::Bf16];

    /// The name a config file uses ("f32", "bf16").
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// SPEC 3: AdamW, global-norm clipping, linear warmup then cosine decay, per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Absent: 2048 for the anchor-pair tasks, 1024 for inverse matching.
    pub batch_size: Option<usize>,
    /// Gradient accumulation: each batch is split into this many micro-batches.
    pub micro_batches: usize,
    pub lr_start: f64,
    pub lr_peak: f64,
    pub lr_end: f64,
    pub warmup_epochs: usize,
    pub cosine_epochs: usize,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Global L2 norm over all parameters of one model, as torch.nn.utils.clip_grad_norm_.
    pub grad_clip: f64,
    pub precision: Precision,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 210,
            batch_size: None,
            micro_batches: 1,
            lr_start: 1e-5,
            lr_peak: 2.5e-4,
            lr_end: 1e-5,
            warmup_epochs: 10,
            cosine_epochs: 200,
            weight_decay: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            grad_clip: 1.0,
            precision: Precision::F32,
        }
    }
}

/// When and what to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    pub every_epochs: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { every_epochs: 1 }
    }
}

impl ExperimentConfig {
    /// The seed the dataset is drawn with.
    pub fn data_seed(&self) -> u64 {
        self.data_seed.unwrap_or(self.seed)
    }

    /// Fills the defaults that depend on another section, so nothing is left implicit.
    pub fn resolve(mut self) -> Self {
        if self.init.rule.is_none() {
            self.init.rule = Some(match self.model {
                ModelConfig::Mamba2(_) => InitRule::FirstDim,
                ModelConfig::Transformer(_) => InitRule::FanIn,
            });
        }
        if self.train.batch_size.is_none() {
            self.train.batch_size = Some(match self.task {
                TaskConfig::InverseMatching(_) => 1024,
                _ => 2048,
            });
        }
        if self.data_seed.is_none() {
            self.data_seed = Some(self.seed);
        }
        self
    }
}
