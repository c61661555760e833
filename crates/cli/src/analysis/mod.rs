//! The mechanistic analyses of SPEC section 4 on trained models: fig4 information flow
//! (the SSM matrix S per layer and the logit lens), fig4a blocking, fig4b substitution, and
//! the supplementary conv-kernel tap similarity. They run on the CPU, one replica at a time;
//! the probes of the models crate do the reading and editing.

pub mod answers;
pub mod blocking;
pub mod conv_similarity;
pub mod flow;
pub mod report;
pub mod sequences;
pub mod substitution;
pub mod trained;

#[cfg(test)]
mod tests;
