//! Supplementary figure: the causal conv's kernel taps compared by cosine similarity. A
//! layer's kernel w [C, K] has K taps (tap K-1 weighs the current token, tap 0 the token
//! K-1 steps back), each a vector over the C channels of x, B and C. For each layer three
//! K x K matrices: taps against taps at epoch 0, at the last epoch, and epoch-0 tap i
//! against last-epoch tap j (its diagonal: how far each tap moved in direction).

use std::collections::BTreeMap;

use models::NamedTensor;

/// The three similarity matrices of one conv layer.
#[derive(Debug, Clone, PartialEq)]
pub struct TapSimilarity {
    /// The parameter's name, e.g. backbone.layers.0.mixer.conv1d.weight.
    pub name: String,
    pub init: Vec<Vec<f64>>,
    pub last: Vec<Vec<f64>>,
    pub init_vs_last: Vec<Vec<f64>>,
}

/// The matrix kinds in the order the CSV and figures use.
pub const KINDS: [&str; 3] = ["epoch0", "last", "epoch0_vs_last"];

impl TapSimilarity {
    pub fn matrices(&self) -> [&Vec<Vec<f64>>; 3] {
        [&self.init, &self.last, &self.init_vs_last]
    }
}

/// Tap labels for a kernel of size k: t-3, t-2, t-1, t for k = 4.
pub fn tap_labels(k: usize) -> Vec<String> {
    (0..k)
        .map(|i| match k - 1 - i {
            0 => "t".to_string(),
            back => format!("t-{back}"),
        })
        .collect()
}

/// The taps of a PyTorch-layout depthwise kernel [C, 1, K] (one replica): taps[k][c].
fn taps(t: &NamedTensor) -> Vec<Vec<f64>> {
    let (c, k) = (t.torch_shape[0], t.torch_shape[t.torch_shape.len() - 1]);
    let w = t.replica(0);
    (0..k).map(|tap| (0..c).map(|ch| w[ch * k + tap]).collect()).collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn matrix(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    a.iter().map(|x| b.iter().map(|y| cosine(x, y)).collect()).collect()
}

/// Every conv kernel (a parameter named *conv1d.weight) of two parameter sets of the same
/// model, compared. Errors when the model has no conv.
pub fn compare(
    initial: &BTreeMap<String, NamedTensor>,
    trained: &BTreeMap<String, NamedTensor>,
) -> Result<Vec<TapSimilarity>, String> {
    let out: Vec<TapSimilarity> = initial
        .iter()
        .filter(|(name, _)| name.ends_with("conv1d.weight"))
        .filter_map(|(name, w0)| {
            let w1 = trained.get(name)?;
            let (t0, t1) = (taps(w0), taps(w1));
            Some(TapSimilarity {
                name: name.clone(),
                init: matrix(&t0, &t0),
                last: matrix(&t1, &t1),
                init_vs_last: matrix(&t0, &t1),
            })
        })
        .collect();
    if out.is_empty() {
        return Err("this model has no convolution kernel (no conv1d.weight parameter)".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(values: Vec<f64>) -> NamedTensor {
        NamedTensor {
            torch_shape: vec![2, 1, 3],
            n_replicas: 1,
            values,
            trainable: true,
        }
    }

    #[test]
    fn cosine_of_taps_over_channels() {
        // channel 0: taps 1 0 1; channel 1: taps 0 1 1 -> tap vectors (1,0), (0,1), (1,1).
        let w0 = BTreeMap::from([(
            "l.conv1d.weight".to_string(),
            kernel(vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0]),
        )]);
        // every tap scaled by -2: same directions, reversed
        let w1 = BTreeMap::from([(
            "l.conv1d.weight".to_string(),
            kernel(vec![-2.0, 0.0, -2.0, 0.0, -2.0, -2.0]),
        )]);
        let s = &compare(&w0, &w1).unwrap()[0];
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(&s.init[0], &[1.0, 0.0, 0.5f64.sqrt()]));
        assert!(close(&s.init[2], &[0.5f64.sqrt(), 0.5f64.sqrt(), 1.0]));
        assert!(s.last.iter().zip(&s.init).all(|(a, b)| close(a, b)));
        assert!(close(&s.init_vs_last[1], &[0.0, -1.0, -(0.5f64.sqrt())]));
        assert_eq!(tap_labels(4), ["t-3", "t-2", "t-1", "t"]);
        assert!(compare(&BTreeMap::new(), &BTreeMap::new()).is_err());
    }
}
