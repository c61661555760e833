//! A digest of a model's weights, so that a published run's initial weights can be
//! re-checked (`msym verify seeds`, the run manifest) without shipping them.

use std::collections::BTreeMap;

use crate::params::NamedTensor;

/// blake3 over every parameter of replica `r`, in name order: the name, the PyTorch shape
/// and each value as little-endian f32 (the precision the models train in, so an f32 and
/// an f64 backend holding the same f32 draws give the same digest).
pub fn weights_digest(params: &BTreeMap<String, NamedTensor>, r: usize) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"msym-weights-v1");
    for (name, p) in params {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(&(p.torch_shape.len() as u64).to_le_bytes());
        for d in &p.torch_shape {
            h.update(&(*d as u64).to_le_bytes());
        }
        for v in p.replica(r) {
            h.update(&(*v as f32).to_le_bytes());
        }
    }
    format!("blake3:{}", h.finalize().to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(values: Vec<f64>) -> BTreeMap<String, NamedTensor> {
        let t = NamedTensor {
            torch_shape: vec![2],
            n_replicas: 2,
            values,
            trainable: true,
        };
        BTreeMap::from([("w".to_string(), t)])
    }

    #[test]
    fn one_changed_value_changes_the_digest_of_its_replica_only() {
        let a = params(vec![0.5, 1.0, 2.0, 3.0]);
        let b = params(vec![0.5, 1.0, 2.0, 3.5]);
        assert_eq!(weights_digest(&a, 0), weights_digest(&b, 0));
        assert_ne!(weights_digest(&a, 1), weights_digest(&b, 1));
        assert_ne!(weights_digest(&a, 0), weights_digest(&a, 1));
        assert!(weights_digest(&a, 0).starts_with("blake3:"));
    }
}
