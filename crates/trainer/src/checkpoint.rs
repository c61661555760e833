//! Checkpoints: weights, optimizer moments and guard state of every replica in one
//! safetensors file, and the loop state (epoch, step, metric rows) in checkpoint.json.
//! The JSON is written last and names the step, so a kill between the two files leaves the
//! previous checkpoint in force. Data order is a pure function of (seed, epoch), so no RNG
//! state needs saving.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use models::{Model, read_params, write_params};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::adamw::{AdamW, Moments};
use crate::guard::Guard;
use crate::metrics::Row;

pub const TENSORS: &str = "checkpoint.safetensors";
pub const STATE: &str = "checkpoint.json";
/// Where a run keeps the checkpoints of its snapshot epochs.
pub const SNAPSHOTS: &str = "snapshots";

/// The snapshot folder of `epoch` in run `dir`.
pub fn snapshot_dir(dir: &Path, epoch: usize) -> std::path::PathBuf {
    dir.join(SNAPSHOTS).join(format!("epoch-{epoch:03}"))
}

/// Whether run `dir` holds a complete snapshot of `epoch`.
pub fn has_snapshot(dir: &Path, epoch: usize) -> bool {
    snapshot_dir(dir, epoch).join(STATE).is_file()
}

/// Copies the checkpoint just written in run `dir`, with the replica configs that its
/// tensors are stacked by, to snapshots/epoch-NNN/. That folder is a run directory of its
/// own as far as `msym analyze` is concerned (checkpoint + cells.json). checkpoint.json is
/// copied last, as `save` writes it last: a folder without it is an unfinished copy.
pub fn snapshot(dir: &Path, epoch: usize) -> std::io::Result<std::path::PathBuf> {
    let to = snapshot_dir(dir, epoch);
    std::fs::create_dir_all(&to)?;
    for name in [TENSORS, crate::rundir::CELLS, STATE] {
        std::fs::copy(dir.join(name), to.join(name))?;
    }
    Ok(to)
}

/// The loop's position and what it has produced so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: usize,
    pub rows: Vec<Row>,
    /// Seconds spent training before this checkpoint (summed over resumed sessions).
    pub train_seconds: f64,
    /// Each replica's training loss summed over the steps since the last evaluation, and
    /// how many steps that is. A checkpoint falls between two evaluations when they are
    /// several epochs apart: without these, a resumed run's next train_loss would be the
    /// mean over the resumed session's steps only (seen 2026-11-26 at epochs 95 and 180 of
    /// results/fig4). The device's sums are exact in f64, so a resumed run goes on
    /// summing from the same value. Empty in checkpoints written before them.
    #[serde(default)]
    pub pending_loss: Vec<f64>,
    #[serde(default)]
    pub pending_steps: usize,
}

fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> (Vec<usize>, Vec<u8>) {
    let shape = t.dims().to_vec();
    let bytes = t
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("float data")
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    (shape, bytes)
}

/// Writes the checkpoint of the run in `dir`.
pub fn save<B: AutodiffBackend>(
    dir: &Path,
    model: &Model<B>,
    opt: &AdamW<B::InnerBackend>,
    guard: &Guard<B::InnerBackend>,
    state: &LoopState,
) -> std::io::Result<()> {
    let mut entries: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, p) in read_params(model) {
        let mut shape = vec![p.n_replicas];
        shape.extend(&p.torch_shape);
        entries.push((
            format!("param/{name}"),
            shape,
            p.values.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect(),
        ));
    }
    for (name, m) in &opt.moments() {
        let (s, b) = host(m.m.clone());
        entries.push((format!("m/{name}"), s, b));
        let (s, b) = host(m.v.clone());
        entries.push((format!("v/{name}"), s, b));
    }
    let (s, b) = host(guard.rows.active.clone());
    entries.push(("guard/active".into(), s, b));
    for (key, t) in [
        ("bad_step", &guard.rows.bad_step),
        ("bad_loss", &guard.rows.bad_loss),
        ("bad_lr", &guard.rows.bad_lr),
        ("bad_norms", &guard.rows.bad_norms),
    ] {
        let (s, b) = host(t.clone());
        entries.push((format!("guard/{key}"), s, b));
    }
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).expect("consistent shape"),
            )
        })
        .collect();
    let meta = std::collections::HashMap::from([("adam_steps".to_string(), opt.steps.to_string())]);
    let bytes = safetensors::serialize(views, Some(meta)).map_err(std::io::Error::other)?;
    msym_config::write_atomic(&dir.join(TENSORS), &bytes)?;
    let json = serde_json::to_string_pretty(state).expect("state serializes");
    msym_config::write_atomic(&dir.join(STATE), json.as_bytes())
}

fn tensor<B: Backend, const D: usize>(
    st: &SafeTensors<'_>,
    name: &str,
    device: &B::Device,
) -> Result<Tensor<B, D>, String> {
    let t = st.tensor(name).map_err(|_| format!("checkpoint lacks '{name}'"))?;
    let values: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let shape: [usize; D] = t
        .shape()
        .try_into()
        .map_err(|_| format!("'{name}' has rank {}", t.shape().len()))?;
    Ok(Tensor::from_data(TensorData::new(values, shape), device))
}

/// Every model parameter of a checkpoint by name: all replicas stacked, row-major.
fn param_values(st: &SafeTensors<'_>) -> BTreeMap<String, Vec<f64>> {
    st.names()
        .into_iter()
        .filter_map(|n| n.strip_prefix("param/").map(|p| (p.to_string(), n)))
        .map(|(p, n)| {
            let t = st.tensor(n).expect("listed name");
            (
                p,
                t.data()
                    .chunks_exact(4)
                    .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .collect(),
            )
        })
        .collect()
}

/// The trained weights of the run in `dir` (parameters only, no optimizer state) and the
/// loop state naming their epoch: what the analyses of fig4 and supp read.
pub fn load_weights(dir: &Path) -> Result<(BTreeMap<String, Vec<f64>>, LoopState), String> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("cannot read {}: {e}", dir.join(name).display()))
    };
    let state: LoopState = serde_json::from_slice(&read(STATE)?).map_err(|e| format!("{STATE}: {e}"))?;
    let bytes = read(TENSORS)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("{TENSORS}: {e}"))?;
    Ok((param_values(&st), state))
}

/// Restores a checkpoint into a freshly built model, optimizer and guard.
pub fn load<B: AutodiffBackend>(
    dir: &Path,
    model: &mut Model<B>,
    opt: &mut AdamW<B::InnerBackend>,
    guard: &mut Guard<B::InnerBackend>,
    device: &burn::tensor::Device<B::InnerBackend>,
) -> Result<LoopState, String> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("cannot read {}: {e}", dir.join(name).display()))
    };
    let state: LoopState = serde_json::from_slice(&read(STATE)?).map_err(|e| format!("{STATE}: {e}"))?;
    let bytes = read(TENSORS)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("{TENSORS}: {e}"))?;
    let params = param_values(&st);
    if let Some(missing) = write_params(model, &|n: &str| params.get(n).cloned()).first() {
        return Err(format!(
            "checkpoint has no values for '{missing}' (was it written by another config?)"
        ));
    }
    let mut moments = BTreeMap::new();
    for name in st.names().into_iter().filter_map(|n| n.strip_prefix("m/")) {
        let m = tensor::<B::InnerBackend, 2>(&st, &format!("m/{name}"), device)?;
        let v = tensor::<B::InnerBackend, 2>(&st, &format!("v/{name}"), device)?;
        moments.insert(name.to_string(), Moments { m, v });
    }
    opt.set_moments(moments);
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| format!("{TENSORS}: {e}"))?;
    let steps = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("adam_steps"))
        .and_then(|s| s.parse().ok());
    opt.steps = steps.ok_or("checkpoint lacks adam_steps")?;
    guard.rows.active = tensor(&st, "guard/active", device)?;
    guard.rows.bad_step = tensor(&st, "guard/bad_step", device)?;
    guard.rows.bad_loss = tensor(&st, "guard/bad_loss", device)?;
    guard.rows.bad_lr = tensor(&st, "guard/bad_lr", device)?;
    guard.rows.bad_norms = tensor(&st, "guard/bad_norms", device)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::LoopState;

    #[test]
    fn a_loop_state_written_before_the_pending_losses_still_loads() {
        // checkpoint.json as the binaries before 2026-11-26 (session 4) wrote it.
        let old = r#"{"epoch": 92, "step": 11316, "rows": [], "train_seconds": 150.5}"#;
        let s: LoopState = serde_json::from_str(old).unwrap();
        assert_eq!((s.epoch, s.step, s.pending_steps), (92, 11316, 0));
        assert!(s.pending_loss.is_empty());
        let new = r#"{"epoch": 3, "step": 57, "rows": [], "train_seconds": 1.0,
                      "pending_loss": [9.75, 10.5], "pending_steps": 19}"#;
        let s: LoopState = serde_json::from_str(new).unwrap();
        assert_eq!((s.pending_loss, s.pending_steps), (vec![9.75, 10.5], 19));
    }
}
