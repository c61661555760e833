//! Shapes: the input is [batch, seq], the logits [batch, vocab] at the last position, and
//! every token and label of the dataset lies inside the model's vocabulary (a token past
//! it would embed as zeros through the one-hot embedding, a label past it cannot be
//! scored).

use anchor_data::Dataset;
use burn::tensor::backend::Backend;
use models::Model;

use super::batch::first_rows;
use super::{Check, Status};

/// `vocab` is the vocabulary the config asks for (`task.vocab_size`).
pub fn shapes<B: Backend>(model: &Model<B>, ds: &Dataset, vocab: usize, batch: usize, device: &B::Device) -> Check {
    let (tokens, _) = first_rows::<B>(ds, batch, device);
    let [_, b, l] = tokens.dims();
    let logits = model.forward(tokens); // [1, b, V]
    let [_, lb, v] = logits.dims();
    let max = |xs: &[u32]| xs.iter().copied().max().unwrap_or(0) as usize;
    let min = |xs: &[u32]| xs.iter().copied().min().unwrap_or(0) as usize;
    let (max_label, max_token) = (max(&ds.labels), max(&ds.tokens));
    let mut problems = Vec::new();
    if l != ds.seq_len {
        problems.push(format!("input has {l} positions, the task {}", ds.seq_len));
    }
    if lb != b {
        problems.push(format!("logits cover {lb} sequences of a batch of {b}"));
    }
    if v != vocab {
        problems.push(format!("logits have {v} classes but task.vocab_size is {vocab}"));
    }
    if max_label >= v {
        let over = ds.labels.iter().filter(|&&y| y as usize >= v).count();
        problems.push(format!(
            "{over} labels lie outside the logits' 0..{} (labels reach {max_label})",
            v - 1
        ));
    }
    if max_token >= v {
        problems.push(format!(
            "tokens reach {max_token}, outside the embedding's 0..{}",
            v - 1
        ));
    }
    let numbers = format!(
        "input [{b}, {l}], logits [{lb}, {v}] at the last position; labels {}..{max_label}, tokens {}..{max_token}, vocabulary {v}",
        min(&ds.labels),
        min(&ds.tokens)
    );
    if problems.is_empty() {
        Check::new("shapes", Status::Pass, numbers)
    } else {
        Check::new("shapes", Status::Fail, numbers).details(problems).hint(format!(
            "set task.vocab_size to at least {} (largest label or token + 1) and build the model from the same task",
            max_label.max(max_token) + 1
        ))
    }
}
