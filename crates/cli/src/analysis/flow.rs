//! Fig. 4, information flow: for one sequence, the SSM matrix S of every layer
//! (S[t, s] = (C_t . B_s) exp(sum_{r=s+1..t} a_r), how much token t reads token s) and the
//! "logit lens": each layer's output at every position decoded by the final norm and head,
//! its argmax and softmax probability, which shows at which layer and position the answer
//! appears.

use anchor_data::Dataset;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use models::{Model, Probes};

use crate::analysis::sequences::{argmax, token_batch};

/// One position of one layer, decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lens {
    pub argmax: u32,
    pub prob: f64,
}

/// The flow of one sequence.
#[derive(Debug, Clone)]
pub struct Flow {
    pub tokens: Vec<u32>,
    /// s[layer][t][s]; zero above the diagonal.
    pub s: Vec<Vec<Vec<f64>>>,
    /// lens[layer][position]
    pub lens: Vec<Vec<Lens>>,
    /// The model's answer (the last layer's lens at the last position).
    pub output: u32,
}

/// Records S and decodes every layer for `tokens` (one sequence of length L).
pub fn flow<B: Backend>(model: &Model<B>, tokens: &[u32], device: &B::Device) -> Result<Flow, String> {
    let l = tokens.len();
    let batch = token_batch::<B>(&[tokens.to_vec()], device);
    let (logits, records) = model.forward_probed(batch, &Probes::record());
    let output = argmax(logits)[0];
    let mut s = Vec::with_capacity(records.len());
    let mut lens = Vec::with_capacity(records.len());
    for rec in records {
        let m = rec.mixing.ok_or("the model recorded no token-mixing matrix")?; // [1, 1, L, L]
        let flat: Vec<f64> = m.into_data().convert::<f64>().to_vec::<f64>().expect("float data");
        s.push(flat.chunks(l).map(<[f64]>::to_vec).collect());
        let decoded = model.decode(rec.hidden); // [1, 1, L, V]
        let v = decoded.dims()[3];
        let probs = softmax(decoded.reshape([1, l, v]), 2); // [1, L, V]
        let best = probs.clone().max_dim(2).reshape([l]).into_data().convert::<f64>();
        let best = best.to_vec::<f64>().expect("float data");
        let arg = argmax(probs);
        lens.push(
            arg.into_iter()
                .zip(best)
                .map(|(argmax, prob)| Lens { argmax, prob })
                .collect(),
        );
    }
    Ok(Flow {
        tokens: tokens.to_vec(),
        s,
        lens,
        output,
    })
}

/// The sample the flow figure shows: the `index`-th sample of `pair`, its test group
/// first (as the interventions order them).
pub fn pick(ds: &Dataset, pair: [u32; 2], index: usize) -> Result<usize, String> {
    let samples = crate::analysis::sequences::per_pair(ds, usize::MAX)
        .map_err(|e| e.message)?
        .into_iter()
        .find(|p| p.pair == pair)
        .ok_or_else(|| format!("pair {}{} is not a pair of this task", pair[0], pair[1]))?;
    samples.indices.get(index).copied().ok_or_else(|| {
        format!(
            "--index {index}: pair {}{} has {} samples, numbered from 0",
            pair[0],
            pair[1],
            samples.indices.len()
        )
    })
}
