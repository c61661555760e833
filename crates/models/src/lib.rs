//! Replica-native burn modules of the Mamba-symmetry experiments (SPEC section 2).
//!
//! Every weight has a leading replica dimension R and every activation is
//! [R, batch, seq, features]: R independent models (each with its own seed and gamma) run
//! as one batched computation, and R = 1 is the plain model.
//!
//! Glossary (paper -> code): D -> `d_model`; N -> `d_state`; E = expand * D -> `d_inner()`;
//! the SSM matrix S -> [`ssd::ssm_matrix`]; A = -exp(A_log) -> `a_log`; Delta -> `dt`;
//! gamma -> [`init::ReplicaInit::gamma`]; d1 -> [`init::d1`].

pub mod activation;
pub mod digest;
pub mod embed;
pub mod export;
pub mod f32_matmul;
#[cfg(feature = "cubecl")]
pub mod fused;
pub mod fused_adam;
#[cfg(feature = "cubecl")]
pub mod fused_ce;
#[cfg(feature = "cubecl")]
pub mod fused_conv;
#[cfg(feature = "cubecl")]
pub mod fused_conv_ssd;
#[cfg(feature = "cubecl")]
pub mod fused_dt;
#[cfg(feature = "cubecl")]
pub mod fused_embed;
pub mod fused_guard;
#[cfg(feature = "cubecl")]
pub mod fused_linear;
#[cfg(feature = "cubecl")]
pub mod fused_norm;
#[cfg(feature = "cubecl")]
pub mod fused_proj_conv;
#[cfg(feature = "cubecl")]
pub mod fused_rms;
#[cfg(feature = "cubecl")]
pub mod fused_rows;
#[cfg(feature = "cubecl")]
pub mod fused_ssd;
pub mod grouped;
pub mod init;
pub mod launch_shape;
pub mod mamba2;
pub mod mamba2_lm;
pub mod matmul_probe;
pub mod model;
pub mod ops;
pub mod params;
pub mod precision;
pub mod probes;
pub mod ssd;
pub mod switch;
pub mod transformer;
pub mod transformer_lm;

pub use digest::weights_digest;
pub use init::{Initializer, ReplicaInit};
pub use mamba2::{BlockDims, Mamba2Block, SsmInput};
pub use mamba2_lm::{Mamba2Lm, Mamba2LmConfig};
pub use model::{Model, build_model};
pub use params::{NamedTensor, ParamVisitor, VisitParams, count_params, read_grads, read_params, write_params};
pub use precision::{cast_module, master_dtype, widen};
pub use probes::{LayerProbe, LayerRecord, Probes, Substitution};
pub use transformer::TransformerBlock;
pub use transformer_lm::{TransformerLm, TransformerLmConfig};
