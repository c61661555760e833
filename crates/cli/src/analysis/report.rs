//! The analyses' results as CSV text and figures (plots crate), and writing both into the
//! output folder (each file atomically). Shares are counts over n; a pair with n = 0 gets
//! an empty share rather than a made-up number.

use std::path::{Path, PathBuf};

use plots::{Bar, MatrixPanel};

use crate::analysis::answers::AnswerRow;
use crate::analysis::blocking::BlockRow;
use crate::analysis::conv_similarity::{KINDS, TapSimilarity, tap_labels};
use crate::analysis::flow::Flow;
use crate::analysis::substitution::SubstituteRow;
use crate::error::CliError;

fn share(k: usize, n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("{:.4}", k as f64 / n as f64)
    }
}

fn share_f(k: usize, n: usize) -> f64 {
    if n == 0 { f64::NAN } else { k as f64 / n as f64 }
}

fn pair_name(p: [u32; 2]) -> String {
    format!("{}{}", p[0], p[1])
}

/// A CSV document: the header line, then one line per row of already formatted fields.
fn csv(header: &str, rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut s = format!("{header}\n");
    for fields in rows {
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    s
}

pub fn block_csv(rows: &[BlockRow]) -> String {
    csv(
        "pair,trained,n,unchanged,share_unchanged,acc_plain,acc_blocked",
        rows.iter().map(|r| {
            vec![
                pair_name(r.pair),
                r.trained.to_string(),
                r.n.to_string(),
                r.unchanged.to_string(),
                share(r.unchanged, r.n),
                share(r.correct_plain, r.n),
                share(r.correct_blocked, r.n),
            ]
        }),
    )
}

/// One row per pair and answered offset; rules joined by `; ` (no quoting: they hold no comma).
pub fn answers_csv(rows: &[AnswerRow]) -> String {
    csv(
        "pair,trained,n,offset,count,share,rules",
        rows.iter().map(|r| {
            vec![
                pair_name(r.pair),
                r.trained.to_string(),
                r.n.to_string(),
                r.offset.to_string(),
                r.count.to_string(),
                share(r.count, r.n),
                r.rules.join("; "),
            ]
        }),
    )
}

/// The `top` most frequent offsets answered on `pair`, as bars labelled by the offset.
pub fn answers_svg(rows: &[AnswerRow], pair: [u32; 2], top: usize) -> String {
    let bars: Vec<Bar> = rows
        .iter()
        .filter(|r| r.pair == pair)
        .take(top)
        .map(|r| Bar {
            label: format!("{:+}", r.offset),
            value: share_f(r.count, r.n),
            highlight: r.rules.iter().any(|x| x == "label" || x == "symmetric"),
        })
        .collect();
    let title = format!(
        "Answers on pair {} (red: its label or the symmetric one)",
        pair_name(pair)
    );
    plots::bars_svg(
        &bars,
        &title,
        "output - key (answers.csv names the rules)",
        "share of the pair's sequences",
        None,
    )
}

pub fn substitute_csv(rows: &[SubstituteRow]) -> String {
    csv(
        "pair,trained,n,skipped,collapsed,share_collapsed,unchanged,share_unchanged,same_before,share_same_before",
        rows.iter().map(|r| {
            vec![
                pair_name(r.pair),
                r.trained.to_string(),
                r.n.to_string(),
                r.skipped.to_string(),
                r.collapsed.to_string(),
                share(r.collapsed, r.n),
                r.unchanged.to_string(),
                share(r.unchanged, r.n),
                r.same_before.to_string(),
                share(r.same_before, r.n),
            ]
        }),
    )
}

pub fn flow_csvs(f: &Flow) -> (String, String) {
    let mut s = String::from("layer,target_pos,source_pos,target_token,source_token,s\n");
    let mut lens = String::from("layer,position,token,argmax,prob\n");
    for (layer, m) in f.s.iter().enumerate() {
        for (t, row) in m.iter().enumerate() {
            for (u, v) in row.iter().enumerate().take(t + 1) {
                s.push_str(&format!("{layer},{t},{u},{},{},{v:.6e}\n", f.tokens[t], f.tokens[u]));
            }
        }
        for (pos, l) in f.lens[layer].iter().enumerate() {
            lens.push_str(&format!("{layer},{pos},{},{},{:.4}\n", f.tokens[pos], l.argmax, l.prob));
        }
    }
    (s, lens)
}

pub fn conv_csv(rows: &[(String, String, u64, usize, Vec<TapSimilarity>)]) -> String {
    let mut s = String::from("cell,sets,seed,epoch,param,kind,tap_i,tap_j,cos\n");
    for (cell, sets, seed, epoch, sims) in rows {
        for sim in sims {
            for (kind, m) in KINDS.iter().zip(sim.matrices()) {
                for (i, row) in m.iter().enumerate() {
                    for (j, v) in row.iter().enumerate() {
                        s.push_str(&format!(
                            "{cell},{},{seed},{epoch},{},{kind},{i},{j},{v:.6}\n",
                            sets.replace(',', ";"),
                            sim.name
                        ));
                    }
                }
            }
        }
    }
    s
}

/// Per-layer S panels with token labels (position:token, the key in parentheses and the
/// anchors in brackets when `key_position` is given), the logit lens of each layer as captions.
pub fn flow_svg(f: &Flow, key_position: Option<usize>, title: &str) -> String {
    let labels: Vec<String> = f
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| match key_position.map(|p| i as i64 - p as i64) {
            Some(0) => format!("{i}:({t})"),
            Some(1 | 2) => format!("{i}:[{t}]"),
            _ => format!("{i}:{t}"),
        })
        .collect();
    let panels: Vec<MatrixPanel> =
        f.s.iter()
            .enumerate()
            .map(|(layer, m)| {
                let values = m
                    .iter()
                    .enumerate()
                    .map(|(t, row)| {
                        row.iter()
                            .enumerate()
                            .map(|(u, &v)| if u > t { f64::NAN } else { v })
                            .collect()
                    })
                    .collect();
                let lens: Vec<String> = f.lens[layer].iter().map(|l| l.argmax.to_string()).collect();
                let last = f.lens[layer].last().map_or(0.0, |l| l.prob);
                MatrixPanel {
                    title: format!("layer {layer}: S[t, s]"),
                    row_labels: labels.clone(),
                    col_labels: labels.clone(),
                    values,
                    caption: vec![
                        format!("lens argmax: {}", lens.join(" ")),
                        format!("last position: argmax prob {last:.2}"),
                    ],
                }
            })
            .collect();
    plots::matrix_panels_svg(&panels, title)
}

pub fn conv_svg(sims: &[TapSimilarity], title: &str) -> String {
    let panels: Vec<MatrixPanel> = sims
        .iter()
        .enumerate()
        .flat_map(|(layer, sim)| {
            let k = sim.init.len();
            KINDS.iter().zip(sim.matrices()).map(move |(kind, m)| {
                let (rows, cols) = match *kind {
                    "epoch0" => ("epoch 0", "epoch 0"),
                    "last" => ("last", "last"),
                    _ => ("epoch 0", "last"),
                };
                MatrixPanel {
                    title: format!("layer {layer}: {}", kind.replace('_', " ")),
                    row_labels: tap_labels(k).iter().map(|t| format!("{rows} {t}")).collect(),
                    col_labels: tap_labels(k),
                    values: m.clone(),
                    caption: vec![format!("columns: {cols} taps")],
                }
            })
        })
        .collect();
    plots::matrix_panels_svg(&panels, title)
}

pub fn shares_svg(bars: Vec<(String, f64, bool)>, title: &str, y_label: &str, paper: f64) -> String {
    let bars: Vec<Bar> = bars
        .into_iter()
        .map(|(label, value, highlight)| Bar {
            label,
            value,
            highlight,
        })
        .collect();
    plots::bars_svg(
        &bars,
        title,
        "anchor pair",
        y_label,
        Some((paper, &format!("paper >= {paper}"))),
    )
}

pub fn block_bars(rows: &[BlockRow], unseen: [u32; 2]) -> Vec<(String, f64, bool)> {
    rows.iter()
        .map(|r| (pair_name(r.pair), share_f(r.unchanged, r.n), r.pair == unseen))
        .collect()
}

pub fn substitute_bars(rows: &[SubstituteRow]) -> Vec<(String, f64, bool)> {
    rows.iter()
        .map(|r| (pair_name(r.pair), share_f(r.collapsed, r.n), !r.trained))
        .collect()
}

/// Writes files into `out` (created if absent); returns their paths.
pub fn write(out: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(out).map_err(|e| CliError::failed(format!("cannot create {}: {e}", out.display())))?;
    files
        .iter()
        .map(|(name, bytes)| {
            let p = out.join(name);
            msym_config::write_atomic(&p, bytes)
                .map_err(|e| CliError::failed(format!("cannot write {}: {e}", p.display())))?;
            Ok(p)
        })
        .collect()
}

/// `stem.svg` and `stem.png` of an SVG document.
pub fn figure(stem: &str, svg: String) -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let png = plots::png(&svg).map_err(|e| CliError::failed(format!("cannot render {stem}.png: {e}")))?;
    Ok(vec![
        (format!("{stem}.svg"), svg.into_bytes()),
        (format!("{stem}.png"), png),
    ])
}
