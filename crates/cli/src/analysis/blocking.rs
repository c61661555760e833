//! Fig. 4a, blocking: in every layer, zero the entries of the SSM matrix S from the key and
//! both anchors to every later token (S[t, s] for s in {p, p+1, p+2} and t > s), and count
//! the sequences whose argmax output is unchanged. If the anchors' information reached the
//! last token only through S, blocking would change the output; the paper finds it does
//! not (>= 0.98 unchanged), because the convolution has already merged key and anchors
//! into the tokens after them.

use anchor_data::Dataset;
use burn::tensor::backend::Backend;
use models::{LayerProbe, Model, Probes, probes::edges_into};

use crate::analysis::sequences::{PairSamples, argmax, key_position, token_batch};

/// The outcome for one anchor pair.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    pub pair: [u32; 2],
    pub trained: bool,
    pub n: usize,
    /// Sequences whose argmax is the same with and without blocking.
    pub unchanged: usize,
    /// Argmax equal to the stored label (for the unseen pair: the composite answer).
    pub correct_plain: usize,
    pub correct_blocked: usize,
}

/// Which later tokens lose the edges from the key and the anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Targets {
    /// Every later token (the paper's description): key -> anchors and anchor -> anchor too.
    Later,
    /// Only the tokens after the second anchor: key and anchors still read each other.
    AfterAnchors,
}

/// Blocks, in every one of `depth` layers, the edges from each sequence's `sources` to its
/// later tokens at or after `first_target`; returns the plain and the blocked argmax outputs.
pub fn plain_and_blocked<B: Backend>(
    model: &Model<B>,
    depth: usize,
    seqs: &[Vec<u32>],
    sources: &[Vec<usize>],
    first_target: &[usize],
    device: &B::Device,
) -> (Vec<u32>, Vec<u32>) {
    let l = seqs.first().map_or(0, Vec::len);
    let tokens = token_batch::<B>(seqs, device);
    let plain = argmax(model.forward(tokens.clone()));
    let probe = LayerProbe::blocking(edges_into::<B>(sources, first_target, l, device));
    let probes = Probes {
        record: false,
        layers: vec![probe; depth],
    };
    let blocked = argmax(model.forward_probed(tokens, &probes).0);
    (plain, blocked)
}

/// Blocking on the samples of one pair: sources are the key and both anchors.
pub fn block_pair<B: Backend>(
    model: &Model<B>,
    depth: usize,
    ds: &Dataset,
    samples: &PairSamples,
    targets: Targets,
    device: &B::Device,
) -> BlockRow {
    let seqs: Vec<Vec<u32>> = samples.indices.iter().map(|&i| ds.sample(i).tokens.to_vec()).collect();
    let sources: Vec<Vec<usize>> = samples
        .indices
        .iter()
        .map(|&i| {
            let p = key_position(ds, i);
            vec![p, p + 1, p + 2]
        })
        .collect();
    let first_target: Vec<usize> = match targets {
        Targets::Later => vec![0; sources.len()],
        Targets::AfterAnchors => sources.iter().map(|s| s[2] + 1).collect(),
    };
    let (plain, blocked) = plain_and_blocked(model, depth, &seqs, &sources, &first_target, device);
    let labels: Vec<u32> = samples.indices.iter().map(|&i| ds.labels[i]).collect();
    let count = |f: &dyn Fn(usize) -> bool| (0..seqs.len()).filter(|&k| f(k)).count();
    BlockRow {
        pair: samples.pair,
        trained: samples.trained,
        n: seqs.len(),
        unchanged: count(&|k| plain[k] == blocked[k]),
        correct_plain: count(&|k| plain[k] == labels[k]),
        correct_blocked: count(&|k| blocked[k] == labels[k]),
    }
}
