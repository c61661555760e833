//! `msym export CONFIG --out DIR [--seed S]`: the initial weights of one replica as
//! safetensors with mamba_ssm's names, 16 test sequences and their last-position logits,
//! so the model can be loaded into PyTorch and compared (scripts/mamba2_reference.py).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anchor_data::Split;
use burn::tensor::{Int, Tensor, TensorData};
use clap::Args;
use models::export::to_safetensors;
use models::{ReplicaInit, build_model};

use crate::args::ConfigArgs;
use crate::backend::CpuBackend;
use crate::data_cmd::dataset;
use crate::error::CliError;
use crate::out_dir::write_dir;

/// How many test sequences the export carries.
const N_SEQUENCES: usize = 16;

#[derive(Args)]
pub struct ExportCommand {
    #[command(flatten)]
    config: ConfigArgs,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replica seed (default: the config's seed). As `--set seed=S`: the resolved config
    /// says S, and the data follow it unless the config fixes `data_seed`, as a replica of
    /// `msym train --seeds ..,S,..` draws them.
    #[arg(long)]
    seed: Option<u64>,
    /// Replace DIR if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(mut c: ExportCommand) -> Result<(), CliError> {
    // Applied as an override, not to the weights alone: with the seed, a replica of a run
    // also draws its dataset (data_seed defaults to the seed), and config.resolved.toml
    // must name the seed and data of the weights it travels with.
    if let Some(seed) = c.seed {
        c.config.set.push(format!("seed={seed}"));
    }
    let (cfg, ds) = dataset(&c.config)?;
    let replica = ReplicaInit {
        seed: cfg.seed,
        gamma: cfg.init.gamma,
    };
    let device = Default::default();
    let model = build_model::<CpuBackend>(&cfg, &[replica], &device);
    let test: Vec<usize> = (0..ds.len())
        .filter(|&i| ds.sample(i).group.split == Split::Test)
        .take(N_SEQUENCES)
        .collect();
    let inputs: Vec<Vec<u32>> = test.iter().map(|&i| ds.sample(i).tokens.to_vec()).collect();
    let flat: Vec<i64> = inputs.iter().flatten().map(|&t| i64::from(t)).collect();
    let tokens = Tensor::<CpuBackend, 3, Int>::from_data(TensorData::new(flat, [1, inputs.len(), ds.seq_len]), &device);
    let logits = model.forward(tokens); // [1, 16, V]
    let v = logits.dims()[2];
    let values = logits.into_data().convert::<f32>().to_vec::<f32>().expect("f32 logits");
    let rows: Vec<&[f32]> = values.chunks(v).collect();
    let metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        ("msym_version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("seed".to_string(), replica.seed.to_string()),
        ("gamma".to_string(), replica.gamma.to_string()),
        (
            "init_rule".to_string(),
            format!("{:?}", cfg.init.rule.expect("resolved")),
        ),
    ]);
    let weights = to_safetensors(&model, 0, &metadata).map_err(CliError::failed)?;
    write_dir(&c.out, c.force, |dir| {
        dir.write("model.safetensors", &weights)?;
        dir.write("inputs.json", serde_json::to_string(&inputs).expect("json").as_bytes())?;
        dir.write("logits.json", serde_json::to_string(&rows).expect("json").as_bytes())?;
        dir.write("config.resolved.toml", c.config.resolved_toml(&cfg).as_bytes())
    })?;
    println!(
        "wrote replica seed {} gamma {} of {} to {}",
        replica.seed,
        replica.gamma,
        cfg.model.name(),
        c.out.display()
    );
    Ok(())
}
