//! Replica-batched training (SPEC section 3): R models that differ only in seed, gamma or
//! peak learning rate train in one batched step, each with its own AdamW state, global-norm
//! clipping and NaN guard; evaluation scores every group; metrics.csv, summary.json and
//! checkpoints make a run inspectable and resumable.

pub mod adamw;
pub mod bench;
pub mod checkpoint;
pub mod clip;
pub mod data;
pub mod doctor;
pub mod eval;
pub mod first_steps;
pub mod flat;
pub mod grads;
pub mod guard;
pub mod loss;
pub mod metrics;
pub mod run;
pub mod rundir;
pub mod schedule;
pub mod step;

pub use guard::Divergence;
pub use metrics::{ReplicaSummary, Row};
pub use run::{Event, Outcome, RunOptions, check_cells, check_snapshots, shape_of, train};
pub use rundir::DirMode;
