//! Experiment configuration (DESIGN.md "Habits"): plain serde structs with explicit
//! defaults and `deny_unknown_fields`, `--set section.field=value` overrides, validation
//! with one sentence per mistake, and the resolved config written next to every output.

mod error;
mod load;
mod overrides;
mod schema;
mod sweep;
mod validate;
mod write;

pub use error::ConfigError;
pub use load::{load, load_unresolved, parse, to_resolved_toml};
pub use overrides::Override;
pub use schema::{
    Activation, ConvKind, EvalConfig, ExperimentConfig, FIGURES, InitConfig, InitRule, Mamba2Config, ModelConfig,
    PosEncoding, Precision, SweepConfig, TrainConfig, TransformerConfig,
};
pub use sweep::{Cell, cell_id, expand};
pub use validate::validate;
pub use write::write_atomic;
