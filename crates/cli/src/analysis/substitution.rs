//! Fig. 4b, substitution: for a sequence of pair (a, b) != (4, 3), replace, in every layer,
//! the post-convolution states of the tokens after the anchors (positions p+3..L-1) with
//! those of the same sequence carrying anchors 4, 3, and count the outputs that become that
//! 43 sequence's output. The paper finds they nearly all do (>= 0.98): what the model
//! answers is decided by the conv-merged states after the anchors, not by the anchor
//! tokens that S could still read directly.
//!
//! A sequence whose anchors end it (p = L-3) has no token after them; it is skipped and
//! counted as such.

use anchor_data::Dataset;
use burn::tensor::backend::Backend;
use models::{LayerProbe, Model, Probes, Substitution, probes::positions_from};

use crate::analysis::sequences::{PairSamples, argmax, key_position, token_batch, with_anchors};

/// The outcome for one anchor pair.
#[derive(Debug, Clone, PartialEq)]
pub struct SubstituteRow {
    pub pair: [u32; 2],
    pub trained: bool,
    /// Sequences with at least one token after the anchors.
    pub n: usize,
    /// Sequences whose anchors end them (nothing to substitute).
    pub skipped: usize,
    /// Substituted output == the 43 sequence's output.
    pub collapsed: usize,
    /// Substituted output == the sequence's own plain output.
    pub unchanged: usize,
    /// Plain output already == the 43 sequence's output (the baseline of `collapsed`).
    pub same_before: usize,
}

/// Which layers get the donor's post-conv states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layers {
    /// Every layer (the paper's description).
    All,
    /// Layer 0 only; the later layers compute their own states from what follows.
    First,
}

/// The argmax outputs of `seqs` with the post-conv states at positions from[b].. replaced,
/// in every layer (or layer 0 only), by those a recorded forward of `donors` produced.
pub fn substituted<B: Backend>(
    model: &Model<B>,
    seqs: &[Vec<u32>],
    donors: &[Vec<u32>],
    from: &[usize],
    which: Layers,
    device: &B::Device,
) -> Result<Vec<u32>, String> {
    let l = seqs.first().map_or(0, Vec::len);
    let (_, records) = model.forward_probed(token_batch::<B>(donors, device), &Probes::record());
    let mask = positions_from::<B>(from, l, device);
    let layers = records
        .into_iter()
        .map(|r| {
            let states = r
                .post_conv
                .ok_or("this model has no convolution, so it has no post-convolution states to substitute")?;
            Ok(LayerProbe {
                mixing_mask: None,
                substitution: Some(Substitution {
                    states,
                    mask: mask.clone(),
                }),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut layers = layers;
    if which == Layers::First {
        // Layers without a probe run unmodified (Probes::layer returns None past the end).
        layers.truncate(1);
    }
    let probes = Probes { record: false, layers };
    Ok(argmax(model.forward_probed(token_batch::<B>(seqs, device), &probes).0))
}

/// Substitution on the samples of one pair, with donors carrying `unseen` (4, 3).
pub fn substitute_pair<B: Backend>(
    model: &Model<B>,
    ds: &Dataset,
    samples: &PairSamples,
    unseen: [u32; 2],
    which: Layers,
    device: &B::Device,
) -> Result<SubstituteRow, String> {
    let l = ds.seq_len;
    let kept: Vec<usize> = samples
        .indices
        .iter()
        .copied()
        .filter(|&i| key_position(ds, i) + 3 < l)
        .collect();
    let seqs: Vec<Vec<u32>> = kept.iter().map(|&i| ds.sample(i).tokens.to_vec()).collect();
    let donors: Vec<Vec<u32>> = kept.iter().map(|&i| with_anchors(ds, i, unseen)).collect();
    let from: Vec<usize> = kept.iter().map(|&i| key_position(ds, i) + 3).collect();
    let mut row = SubstituteRow {
        pair: samples.pair,
        trained: samples.trained,
        n: kept.len(),
        skipped: samples.indices.len() - kept.len(),
        collapsed: 0,
        unchanged: 0,
        same_before: 0,
    };
    if kept.is_empty() {
        return Ok(row);
    }
    let plain = argmax(model.forward(token_batch::<B>(&seqs, device)));
    let target = argmax(model.forward(token_batch::<B>(&donors, device)));
    let edited = substituted(model, &seqs, &donors, &from, which, device)?;
    for k in 0..kept.len() {
        row.collapsed += usize::from(edited[k] == target[k]);
        row.unchanged += usize::from(edited[k] == plain[k]);
        row.same_before += usize::from(plain[k] == target[k]);
    }
    Ok(row)
}
