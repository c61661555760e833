//! Renders samples for people (text) and for scripts (one JSON object per line), with the
//! oracle's reading of each label next to the stored one.

use anchor_data::{Dataset, INVERSE_SET_SIZE, Sample, oracle};
use serde_json::json;

/// The oracle's verdict on one sample: its derivation, or why it disagrees.
pub struct Check {
    pub agrees: bool,
    pub derivation: String,
}

pub fn check(ds: &Dataset, s: &Sample<'_>) -> Check {
    match oracle(&ds.task, s.tokens) {
        Ok(o) => {
            let agrees = o.label == s.label
                && o.split == s.group.split
                && o.pair == s.group.pair
                && o.key == s.key
                && o.position == s.position;
            Check {
                agrees,
                derivation: o.derivation,
            }
        }
        Err(e) => Check {
            agrees: false,
            derivation: format!("oracle cannot read the sequence: {e}"),
        },
    }
}

/// Tokens with the key in parentheses and the anchors in brackets, or (inverse task) the
/// key sequences, separators, fillers and query split by bars.
pub fn tokens_line(ds: &Dataset, s: &Sample<'_>) -> String {
    let t = s.tokens;
    match s.position {
        Some(p) => {
            let p = p as usize;
            let mut parts: Vec<String> = Vec::with_capacity(t.len());
            for (j, x) in t.iter().enumerate() {
                parts.push(match j {
                    _ if j == p => format!("({x})"),
                    _ if j == p + 1 => format!("[{x}"),
                    _ if j == p + 2 => format!("{x}]"),
                    _ => x.to_string(),
                });
            }
            parts.join(" ")
        }
        None => {
            let block = INVERSE_SET_SIZE + 1;
            let query_at = ds.seq_len - INVERSE_SET_SIZE;
            let keys_end = 5 * block;
            let join = |xs: &[u32]| xs.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
            let mut parts: Vec<String> = t[..keys_end].chunks(block).map(join).collect();
            parts.push(format!("fill {}", join(&t[keys_end..query_at])));
            parts.push(format!("query {}", join(&t[query_at..])));
            parts.join(" | ")
        }
    }
}

pub fn text(ds: &Dataset, s: &Sample<'_>) -> String {
    let c = check(ds, s);
    let mut head = format!("#{:<6} {:<9}", s.index, s.group.name());
    if let (Some(k), Some(p)) = (s.key, s.position) {
        head.push_str(&format!(" key {k} at p={p}"));
    }
    if !s.group.trained {
        head.push_str("  (not trained on)");
    }
    let verdict = if c.agrees { "oracle agrees" } else { "ORACLE DISAGREES" };
    let mut label = format!("label {}  from {}  [{verdict}]", s.label, c.derivation);
    if s.group.pair.is_some() && s.group.pair == ds.unseen_pair {
        let sym = ds.symmetric_label(s.index).map_or("-".into(), |l| l.to_string());
        label.push_str(&format!(
            "\n    unseen pair: composite answer {}, symmetric answer {sym}",
            s.label
        ));
    }
    format!("{head}\n    tokens  {}\n    {label}", tokens_line(ds, s))
}

pub fn json(ds: &Dataset, s: &Sample<'_>) -> serde_json::Value {
    let c = check(ds, s);
    json!({
        "index": s.index,
        "tokens": s.tokens,
        "label": s.label,
        "pair": s.group.pair,
        "split": s.group.split,
        "key": s.key,
        "position": s.position,
        "group": s.group.name(),
        "trained": s.group.trained,
        "symmetric_label": ds.symmetric_label(s.index),
        "oracle_agrees": c.agrees,
        "derivation": c.derivation,
    })
}
