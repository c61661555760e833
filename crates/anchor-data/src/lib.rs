//! Anchor-function tasks of the Mamba-symmetry experiments (SPEC section 1).
//!
//! Every dataset is a pure function of (task config, seed): [`generate`] draws it with a
//! ChaCha8 stream and sampling code written out in [`rng`], keeps each sample's group
//! (pair x split), key and position, and [`oracle`] re-derives every label independently.
//!
//! Glossary (paper -> code): anchor pair (a, b) -> `pair`; key -> `key`; key position p ->
//! `position`; L -> `seq_len`; the 9:1 train/test weighting -> `train_weight`/`test_weight`;
//! the unseen pair (4,3) -> `unseen_pair`; composite answer (key - 10) -> the stored label;
//! symmetric answer (key - 6, the label of the reversed pair) -> [`Dataset::symmetric_label`].

mod dataset;
mod error;
mod generate;
pub mod groups;
mod inverse;
mod oracle;
mod pair_task;
pub mod rng;
mod task;

pub use dataset::{Dataset, Group, Sample, SampleMeta, Split};
pub use error::TaskError;
pub use generate::{generate, validate};
pub use inverse::{PERMUTATIONS, one_residue_class};
pub use oracle::{OracleAnswer, OracleError, oracle};
pub use task::{
    CompositeTask, FullSymmetryTask, INVERSE_N_KEYS, INVERSE_SET_SIZE, InverseMatchingTask, PairOverride, TaskConfig,
};
