//! `msym analyze {flow,block,substitute,conv-similarity,answers} DIR [--out D]`: the analyses of a
//! trained run (a `msym train` run, a sweep cell, or a one-cell sweep; conv-similarity
//! takes every cell of a sweep). Each writes its CSV and figure (SVG + PNG) to --out
//! (default DIR/analysis). Subcommands rather than one `--figure` switch, because each has
//! its own options (which sequence, how many per pair) and can be rerun alone; `msym
//! reproduce fig4` / `supp` run them in turn after training.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};

use crate::analysis::trained::{self, Trained};
use crate::analysis::{answers, blocking, conv_similarity, flow, report, sequences, substitution};
use crate::error::CliError;

/// The paper's number of sequences per anchor pair (Fig. 4a, 4b).
pub const PER_PAIR: usize = 480;

#[derive(Subcommand)]
pub enum AnalyzeCommand {
    /// Fig. 4: S of every layer for one sequence, with each layer's logit lens.
    Flow(FlowArgs),
    /// Fig. 4a: block S from the key and anchors to later tokens; share of unchanged outputs per pair.
    Block(BlockArgs),
    /// Fig. 4b: substitute the post-conv states after the anchors with those of the 43 sequence.
    Substitute(SubstituteArgs),
    /// Supplementary: cosine similarity of the conv kernel taps at epoch 0 and the last epoch.
    ConvSimilarity(Common),
    /// What the model answers on each pair, as offsets from the key, named by the rules that
    /// give them (label, symmetric, another pair's rule, one anchor alone).
    Answers(PairArgs),
}

#[derive(Args, Clone)]
pub struct Common {
    /// A run (`msym train`), a sweep cell (SWEEP/cells/<id>) or a sweep.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Output folder (default: DIR/analysis).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Which replica of a multi-replica run (default 0).
    #[arg(long)]
    pub replica: Option<usize>,
}

#[derive(Args)]
pub struct FlowArgs {
    #[command(flatten)]
    pub common: Common,
    /// Anchor pair of the sequence shown, as two digits (default: the unseen pair).
    #[arg(long, value_name = "AB")]
    pub pair: Option<String>,
    /// Which sample of that pair (test group first, then train).
    #[arg(long, default_value_t = 0)]
    pub index: usize,
}

#[derive(Args)]
pub struct PairArgs {
    #[command(flatten)]
    pub common: Common,
    /// Sequences per anchor pair (test group first, then train).
    #[arg(long, default_value_t = PER_PAIR)]
    pub per_pair: usize,
}

#[derive(Args)]
pub struct BlockArgs {
    #[command(flatten)]
    pub pair: PairArgs,
    /// Which later tokens lose the edges: `later` (every later token, as the paper describes
    /// it; writes block.*) or `after-anchors` (only the tokens after the second anchor;
    /// writes block_after_anchors.*).
    #[arg(long, value_enum, default_value = "later")]
    pub targets: blocking::Targets,
}

#[derive(Args)]
pub struct SubstituteArgs {
    #[command(flatten)]
    pub pair: PairArgs,
    /// Where the 43 sequence's states go: `all` layers (as the paper describes it; writes
    /// substitute.*) or the `first` layer only (writes substitute_first_layer.*).
    #[arg(long, value_enum, default_value = "all")]
    pub layers: substitution::Layers,
}

pub fn run(c: AnalyzeCommand) -> Result<(), CliError> {
    let started = Instant::now();
    let written = match c {
        AnalyzeCommand::Flow(a) => flow_cmd(&a)?,
        AnalyzeCommand::Block(a) => block_cmd(&a)?,
        AnalyzeCommand::Substitute(a) => substitute_cmd(&a)?,
        AnalyzeCommand::ConvSimilarity(a) => conv_cmd(&a)?,
        AnalyzeCommand::Answers(a) => answers_cmd(&a)?,
    };
    for p in written {
        println!("wrote {}", p.display());
    }
    println!("analysis took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn out_dir(c: &Common) -> PathBuf {
    c.out.clone().unwrap_or_else(|| c.dir.join("analysis"))
}

fn load(c: &Common) -> Result<Trained, CliError> {
    let t = trained::load(trained::locate_one(&c.dir, c.replica)?)?;
    println!(
        "{} replica {} ({}, seed {}, gamma {}), epoch {}",
        t.at.run_dir.display(),
        t.at.replica,
        t.at.config.model.name(),
        t.at.config.seed,
        t.at.config.init.gamma,
        t.epoch
    );
    Ok(t)
}

fn parse_pair(s: &str) -> Result<[u32; 2], CliError> {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    match d[..] {
        [a, b] if s.chars().count() == 2 => Ok([a, b]),
        _ => Err(CliError::input(format!(
            "--pair {s}: write an anchor pair as two digits, e.g. 43"
        ))),
    }
}

fn unseen(ds: &anchor_data::Dataset) -> Result<[u32; 2], CliError> {
    ds.unseen_pair
        .ok_or_else(|| CliError::input("this task has no unseen anchor pair, so there is no 43 output to substitute"))
}

fn flow_cmd(a: &FlowArgs) -> Result<Vec<PathBuf>, CliError> {
    let t = load(&a.common)?;
    let ds = trained::dataset(&t.at.config)?;
    let pair = match &a.pair {
        Some(p) => parse_pair(p)?,
        None => unseen(&ds)?,
    };
    let i = flow::pick(&ds, pair, a.index).map_err(CliError::input)?;
    let s = ds.sample(i);
    let f = flow::flow(&t.model, s.tokens, &Default::default()).map_err(CliError::input)?;
    let (s_csv, lens_csv) = report::flow_csvs(&f);
    let info = serde_json::json!({
        "run": t.at.run_dir, "replica": t.at.replica, "epoch": t.epoch, "sample": i,
        "pair": pair, "group": s.group.name(), "key": s.key, "key_position": s.position,
        "tokens": s.tokens, "label": s.label, "symmetric_label": ds.symmetric_label(i), "output": f.output,
    });
    println!(
        "sample {i} ({}): tokens {:?}, label {} (symmetric {:?}), model output {}",
        s.group.name(),
        s.tokens,
        s.label,
        ds.symmetric_label(i),
        f.output
    );
    let symmetric = ds.symmetric_label(i).map_or("-".to_string(), |v| v.to_string());
    let title = format!(
        "Fig. 4 information flow, pair {}{} (sample {i}): label {} (reversed pair: {symmetric}), model output {}",
        pair[0], pair[1], s.label, f.output
    );
    let mut files = vec![
        ("flow_s.csv".to_string(), s_csv.into_bytes()),
        ("logit_lens.csv".to_string(), lens_csv.into_bytes()),
        (
            "flow_sequence.json".to_string(),
            serde_json::to_vec_pretty(&info).expect("json"),
        ),
    ];
    files.extend(report::figure(
        "flow",
        report::flow_svg(&f, s.position.map(|p| p as usize), &title),
    )?);
    report::write(&out_dir(&a.common), &files)
}

fn block_cmd(b: &BlockArgs) -> Result<Vec<PathBuf>, CliError> {
    let a = &b.pair;
    let t = load(&a.common)?;
    let ds = trained::dataset(&t.at.config)?;
    let depth = t.at.config.model.depth();
    let device = Default::default();
    let rows: Vec<_> = sequences::per_pair(&ds, a.per_pair)?
        .iter()
        .map(|p| blocking::block_pair(&t.model, depth, &ds, p, b.targets, &device))
        .collect();
    let (n, unchanged) = rows.iter().fold((0, 0), |(n, u), r| (n + r.n, u + r.unchanged));
    println!(
        "blocking: {unchanged} of {n} outputs unchanged ({:.3}) over {} pairs",
        unchanged as f64 / n.max(1) as f64,
        rows.len()
    );
    let (stem, title) = match b.targets {
        blocking::Targets::Later => (
            "block",
            "Fig. 4a: outputs unchanged when S from key and anchors is blocked",
        ),
        blocking::Targets::AfterAnchors => (
            "block_after_anchors",
            "Outputs unchanged when S from key and anchors to the tokens after the anchors is blocked",
        ),
    };
    let svg = report::shares_svg(
        report::block_bars(&rows, ds.unseen_pair.unwrap_or([0, 0])),
        title,
        "share unchanged",
        0.98,
    );
    let mut files = vec![(format!("{stem}.csv"), report::block_csv(&rows).into_bytes())];
    files.extend(report::figure(stem, svg)?);
    report::write(&out_dir(&a.common), &files)
}

fn substitute_cmd(b: &SubstituteArgs) -> Result<Vec<PathBuf>, CliError> {
    let a = &b.pair;
    let t = load(&a.common)?;
    let ds = trained::dataset(&t.at.config)?;
    let target = unseen(&ds)?;
    let device = Default::default();
    let rows = sequences::per_pair(&ds, a.per_pair)?
        .iter()
        .filter(|p| p.pair != target)
        .map(|p| substitution::substitute_pair(&t.model, &ds, p, target, b.layers, &device))
        .collect::<Result<Vec<_>, String>>()
        .map_err(CliError::input)?;
    let (n, collapsed) = rows.iter().fold((0, 0), |(n, c), r| (n + r.n, c + r.collapsed));
    println!(
        "substitution: {collapsed} of {n} outputs became the 43 output ({:.3}) over {} pairs",
        collapsed as f64 / n.max(1) as f64,
        rows.len()
    );
    let (stem, title) = match b.layers {
        substitution::Layers::All => (
            "substitute",
            "Fig. 4b: outputs that become the 43 output after substitution",
        ),
        substitution::Layers::First => (
            "substitute_first_layer",
            "Outputs that become the 43 output after substitution in layer 0 only",
        ),
    };
    let svg = report::shares_svg(
        report::substitute_bars(&rows),
        title,
        "share collapsed to the 43 output",
        0.98,
    );
    let mut files = vec![(format!("{stem}.csv"), report::substitute_csv(&rows).into_bytes())];
    files.extend(report::figure(stem, svg)?);
    report::write(&out_dir(&a.common), &files)
}

fn answers_cmd(a: &PairArgs) -> Result<Vec<PathBuf>, CliError> {
    let t = load(&a.common)?;
    let ds = trained::dataset(&t.at.config)?;
    let device = Default::default();
    let pairs = sequences::per_pair(&ds, a.per_pair)?;
    // Printed and drawn: the unseen pair, where the answers tell the solutions apart.
    let target = ds.unseen_pair.unwrap_or(pairs[0].pair);
    let rows: Vec<_> = pairs
        .iter()
        .flat_map(|p| answers::answers_pair(&t.model, &ds, p, &device))
        .collect();
    for r in rows.iter().filter(|r| r.pair == target).take(5) {
        let rules = if r.rules.is_empty() {
            "no rule of the task".to_string()
        } else {
            r.rules.join(", ")
        };
        println!(
            "pair {}{}: key{:+} in {} of {} ({:.3}): {rules}",
            r.pair[0],
            r.pair[1],
            r.offset,
            r.count,
            r.n,
            r.count as f64 / r.n.max(1) as f64
        );
    }
    let mut files = vec![("answers.csv".to_string(), report::answers_csv(&rows).into_bytes())];
    files.extend(report::figure("answers", report::answers_svg(&rows, target, 8))?);
    report::write(&out_dir(&a.common), &files)
}

fn conv_cmd(c: &Common) -> Result<Vec<PathBuf>, CliError> {
    let located = match c.replica {
        Some(_) => vec![trained::locate_one(&c.dir, c.replica)?],
        None => trained::locate(&c.dir)?,
    };
    let mut rows = Vec::new();
    let mut files = Vec::new();
    for at in located {
        let initial = models::read_params(&trained::initial(&at));
        let t = trained::load(at)?;
        let sims = conv_similarity::compare(&initial, &models::read_params(&t.model)).map_err(CliError::input)?;
        let sets = t.at.sets.join(";");
        let title = format!(
            "Conv taps, cosine similarity: {} {} (epoch 0 vs epoch {})",
            t.at.name, sets, t.epoch
        );
        files.extend(report::figure(
            &format!("conv_similarity_{}", t.at.name),
            report::conv_svg(&sims, &title),
        )?);
        rows.push((t.at.name.clone(), sets, t.at.config.seed, t.epoch, sims));
    }
    files.insert(
        0,
        ("conv_similarity.csv".to_string(), report::conv_csv(&rows).into_bytes()),
    );
    report::write(&out_dir(c), &files)
}

/// What `msym reproduce` runs after training a figure's models: fig4 -> flow, block and
/// substitute on its one cell; supp -> conv-similarity on every cell. Output: SWEEP/analysis.
pub fn after_reproduce(figure: &str, sweep: &Path) -> Result<(), CliError> {
    let common = Common {
        dir: sweep.to_path_buf(),
        out: Some(sweep.join("analysis")),
        replica: None,
    };
    let cmds = match figure {
        "fig4" => vec![
            AnalyzeCommand::Flow(FlowArgs {
                common: common.clone(),
                pair: None,
                index: 0,
            }),
            AnalyzeCommand::Block(BlockArgs {
                pair: PairArgs {
                    common: common.clone(),
                    per_pair: PER_PAIR,
                },
                targets: blocking::Targets::Later,
            }),
            AnalyzeCommand::Substitute(SubstituteArgs {
                pair: PairArgs {
                    common: common.clone(),
                    per_pair: PER_PAIR,
                },
                layers: substitution::Layers::All,
            }),
            // Not a panel of the paper: what the model answers where it is neither
            // composite nor symmetric, which the interventions' shares do not say.
            AnalyzeCommand::Answers(PairArgs {
                common,
                per_pair: PER_PAIR,
            }),
        ],
        "supp" => vec![AnalyzeCommand::ConvSimilarity(common)],
        _ => return Ok(()),
    };
    for cmd in cmds {
        run(cmd)?;
    }
    Ok(())
}
