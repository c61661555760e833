//! Weights as safetensors, one file per replica, with mamba_ssm's Mamba2 LM tensor names
//! and PyTorch's layouts (linear [out, in], conv1d [channels, 1, kernel]), so a researcher
//! can load them into PyTorch and compare. Extensions beyond mamba_ssm keep the same style:
//! `backbone.pos_embedding.weight` for learned positions; a tied head writes no
//! `lm_head.weight`. Values are stored as F32.

use std::collections::{BTreeMap, HashMap};

use burn::tensor::backend::Backend;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::params::{VisitParams, read_params, write_params};

/// The safetensors bytes of replica `r` of `model`, with free-form `metadata`.
pub fn to_safetensors<B: Backend, M: VisitParams<B> + Clone>(
    model: &M,
    r: usize,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    let params = read_params(model);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = params
        .iter()
        .map(|(name, p)| {
            let raw = p.replica(r).iter().flat_map(|v| (*v as f32).to_le_bytes()).collect();
            (name.clone(), p.torch_shape.clone(), raw)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, raw)| {
            TensorView::new(Dtype::F32, shape.clone(), raw)
                .map(|v| (name.clone(), v))
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let meta: HashMap<String, String> = metadata.clone().into_iter().collect();
    safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())
}

/// Loads one safetensors file per replica into `model` (whose replica count must equal
/// `files.len()`), checking names and shapes. Names the files have but the model lacks,
/// or the reverse, are errors.
pub fn load_safetensors<B: Backend, M: VisitParams<B> + Clone>(model: &mut M, files: &[Vec<u8>]) -> Result<(), String> {
    let expected = read_params(model);
    let parsed = files
        .iter()
        .map(|f| SafeTensors::deserialize(f).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stacked: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (r, st) in parsed.iter().enumerate() {
        if let Some(extra) = st.names().into_iter().find(|n| !expected.contains_key(*n)) {
            return Err(format!(
                "replica {r}: tensor '{extra}' is not a parameter of this model"
            ));
        }
        for (name, p) in &expected {
            let t = st
                .tensor(name)
                .map_err(|_| format!("replica {r}: tensor '{name}' is missing"))?;
            if t.shape() != p.torch_shape.as_slice() || t.dtype() != Dtype::F32 {
                return Err(format!(
                    "replica {r}: '{name}' is {:?} {:?}, expected F32 {:?}",
                    t.dtype(),
                    t.shape(),
                    p.torch_shape
                ));
            }
            let values = t
                .data()
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
            stacked.entry(name.clone()).or_default().extend(values);
        }
    }
    let missing = write_params(model, &|n: &str| stacked.get(n).cloned());
    match missing.first() {
        Some(n) => Err(format!("no values for '{n}'")),
        None => Ok(()),
    }
}
