//! `msym data {sample, stats, hash, check, export}`: the dataset of a config, looked at
//! before any training ("print the first batch").

use std::path::PathBuf;
use std::time::Instant;

use anchor_data::{Dataset, Split, generate};
use clap::{Args, Subcommand};
use msym_config::ExperimentConfig;

use crate::args::ConfigArgs;
use crate::decode;
use crate::error::CliError;
use crate::out_dir::{Staging, write_dir};

#[derive(Subcommand)]
pub enum DataCommand {
    /// Print decoded samples with key, pair, split, label and how the label follows.
    Sample(SampleArgs),
    /// Group sizes, key / position / label ranges, and the training rows.
    Stats(PlainArgs),
    /// The dataset's blake3 digest (same config and data seed -> same digest).
    Hash(PlainArgs),
    /// Recompute every label with the independent oracle; exit 1 on any mismatch.
    Check(PlainArgs),
    /// Write samples.csv, dataset.json and the resolved config into a new directory.
    Export(ExportArgs),
}

#[derive(Args)]
pub struct PlainArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Args)]
pub struct SampleArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// How many samples to print.
    #[arg(long, default_value_t = 8)]
    n: usize,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Only samples of this group, e.g. 43/test, 12/train, ood.
    #[arg(long)]
    group: Option<String>,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replace DIR if it exists.
    #[arg(long)]
    force: bool,
    /// Also write the batch order in which `msym train` visits the training rows in its
    /// first N epochs, for the config's run seed: `orders/epoch-EEE.u32` (E from 0), each
    /// the positions in the training rows (samples.csv's trained rows, in file order) as
    /// little-endian u32; batch k of an epoch is entries k*b..(k+1)*b. An independent
    /// trainer given them sees msym's batches (scripts/torch_train.py --msym-order).
    #[arg(long, value_name = "N", default_value_t = 0)]
    orders: usize,
}

pub fn run(c: DataCommand) -> Result<(), CliError> {
    match c {
        DataCommand::Sample(a) => sample(a),
        DataCommand::Stats(a) => stats(&a.config),
        DataCommand::Hash(a) => hash(&a.config),
        DataCommand::Check(a) => check(&a.config),
        DataCommand::Export(a) => export(a),
    }
}

/// Loads the config and generates its dataset.
pub fn dataset(args: &ConfigArgs) -> Result<(ExperimentConfig, Dataset), CliError> {
    let cfg = args.load()?;
    for line in cfg.task.assumptions() {
        eprintln!("note: {line}");
    }
    let ds = generate(&cfg.task, cfg.data_seed()).map_err(|e| CliError::input(e.to_string()))?;
    Ok((cfg, ds))
}

fn sample(a: SampleArgs) -> Result<(), CliError> {
    let (_, ds) = dataset(&a.config)?;
    let names: Vec<String> = ds.groups.iter().map(|g| g.name()).collect();
    let wanted = match &a.group {
        Some(g) => Some(names.iter().position(|n| n == g).ok_or_else(|| {
            CliError::input(format!(
                "--group {g} is not a group of this task; groups are {}",
                names.join(", ")
            ))
        })?),
        None => None,
    };
    let chosen = ds
        .iter()
        .filter(|s| wanted.is_none_or(|g| ds.meta[s.index].group as usize == g))
        .take(a.n);
    if !a.json {
        println!(
            "{} samples of {} (data seed {}, {}); (key) [anchors]",
            ds.len(),
            ds.task.name(),
            ds.seed,
            ds.digest()
        );
    }
    for s in chosen {
        if a.json {
            println!("{}", decode::json(&ds, &s));
        } else {
            println!("{}", decode::text(&ds, &s));
        }
    }
    Ok(())
}

fn range(values: impl Iterator<Item = u32>) -> String {
    let (lo, hi) = values.fold((u32::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi { "-".into() } else { format!("{lo}..{hi}") }
}

fn stats(args: &ConfigArgs) -> Result<(), CliError> {
    let (cfg, ds) = dataset(args)?;
    println!(
        "task {}  data seed {}  samples {}  seq_len {}  vocab {}",
        ds.task.name(),
        ds.seed,
        ds.len(),
        ds.seq_len,
        ds.task.vocab_size()
    );
    println!(
        "{:<10} {:>7}  {:<7}  {:<8}  {:<9}  labels",
        "group", "size", "trained", "keys", "positions"
    );
    for (g, group) in ds.groups.iter().enumerate() {
        let idx = ds.group_indices(g);
        let meta = || idx.iter().map(|&i| ds.meta[i]);
        println!(
            "{:<10} {:>7}  {:<7}  {:<8}  {:<9}  {}",
            group.name(),
            group.size,
            if group.trained { "yes" } else { "no" },
            range(meta().filter_map(|m| m.key)),
            range(meta().filter_map(|m| m.position)),
            range(idx.iter().map(|&i| ds.labels[i])),
        );
    }
    let rows = ds.training_indices().len();
    let batch = cfg.train.batch_size.expect("resolved");
    println!(
        "training rows {rows}: {} full batches of {batch} ({} rows left out per epoch)",
        rows / batch,
        rows % batch
    );
    let held: Vec<String> = ds
        .groups
        .iter()
        .filter(|g| !g.trained && g.split == Split::Train)
        .map(|g| g.name())
        .collect();
    if !held.is_empty() {
        println!("held out of training: {}", held.join(", "));
    }
    Ok(())
}

fn hash(args: &ConfigArgs) -> Result<(), CliError> {
    let (_, ds) = dataset(args)?;
    println!(
        "{}  {} n={} data_seed={}",
        ds.digest(),
        ds.task.name(),
        ds.len(),
        ds.seed
    );
    Ok(())
}

fn check(args: &ConfigArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let (_, ds) = dataset(args)?;
    let bad: Vec<String> = ds
        .iter()
        .filter(|s| !decode::check(&ds, s).agrees)
        .map(|s| decode::text(&ds, &s))
        .collect();
    println!(
        "checked {} labels against the oracle in {:.2} s: {} mismatches",
        ds.len(),
        start.elapsed().as_secs_f64(),
        bad.len()
    );
    for b in bad.iter().take(20) {
        println!("{b}");
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "{} labels disagree with the oracle",
            bad.len()
        )))
    }
}

fn export(a: ExportArgs) -> Result<(), CliError> {
    let (cfg, ds) = dataset(&a.config)?;
    write_dir(&a.out, a.force, |dir| {
        write_export(dir, &cfg, &ds, &a.config)?;
        for epoch in 0..a.orders {
            let bytes: Vec<u8> = training_order(&ds, cfg.seed, epoch)
                .into_iter()
                .flat_map(|p| (p as u32).to_le_bytes())
                .collect();
            dir.write(&format!("orders/epoch-{epoch:03}.u32"), &bytes)?;
        }
        Ok(())
    })?;
    println!("wrote {} samples to {} ({})", ds.len(), a.out.display(), ds.digest());
    if a.orders > 0 {
        println!(
            "wrote the batch order of epochs 0..{} for run seed {}",
            a.orders - 1,
            cfg.seed
        );
    }
    Ok(())
}

/// The training rows of `epoch` in the order `msym train` visits them for run seed `seed`,
/// as positions in the training rows (dataset order), not dataset indices: the trainer's
/// shuffle of the positions themselves, since its Fisher-Yates moves entries by place alone.
fn training_order(ds: &Dataset, seed: u64, epoch: usize) -> Vec<usize> {
    let positions: Vec<usize> = (0..ds.training_indices().len()).collect();
    trainer::data::epoch_rows(&positions, seed, epoch)
}

fn write_export(dir: &Staging, cfg: &ExperimentConfig, ds: &Dataset, args: &ConfigArgs) -> Result<(), CliError> {
    dir.write("config.resolved.toml", args.resolved_toml(cfg).as_bytes())?;
    let mut csv = String::from("index,tokens,label,pair,split,key,position,trained\n");
    for s in ds.iter() {
        let tokens: Vec<String> = s.tokens.iter().map(u32::to_string).collect();
        let pair = s.group.pair.map_or(String::new(), |[a, b]| format!("{a}{b}"));
        let opt = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            s.index,
            tokens.join(" "),
            s.label,
            pair,
            s.group.split,
            opt(s.key),
            opt(s.position),
            s.group.trained
        ));
    }
    dir.write("samples.csv", csv.as_bytes())?;
    let meta = serde_json::json!({
        "task": ds.task.name(),
        "data_seed": ds.seed,
        "n_samples": ds.len(),
        "seq_len": ds.seq_len,
        "digest": ds.digest(),
        "groups": ds.groups,
        "training_rows": ds.training_indices().len(),
        "run_seed": cfg.seed,
    });
    dir.write(
        "dataset.json",
        serde_json::to_string_pretty(&meta).expect("json").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::training_order;

    #[test]
    fn the_exported_order_is_the_trainers_in_positions_of_the_training_rows() {
        let cfg = msym_config::load(std::path::Path::new("../../configs/smoke.toml"), &[]).unwrap();
        let ds = anchor_data::generate(&cfg.task, cfg.data_seed()).unwrap();
        let rows = ds.training_indices();
        assert!(
            rows.len() < ds.len(),
            "the smoke task has untrained rows, so positions differ from indices"
        );
        for epoch in [0, 1] {
            let order = training_order(&ds, 3, epoch);
            // position p stands for dataset row rows[p]: the trainer's own order, mapped
            let trainer = trainer::data::epoch_rows(&rows, 3, epoch);
            assert_eq!(order.iter().map(|&p| rows[p]).collect::<Vec<_>>(), trainer);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                (0..rows.len()).collect::<Vec<_>>(),
                "a permutation of the positions"
            );
        }
        assert_ne!(
            training_order(&ds, 3, 0),
            training_order(&ds, 3, 1),
            "each epoch its own order"
        );
        assert_ne!(
            training_order(&ds, 3, 0),
            training_order(&ds, 4, 0),
            "each seed its own order"
        );
    }
}
