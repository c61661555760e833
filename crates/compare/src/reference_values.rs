//! The reference sections of the figures the paper gives as single numbers (fig4, fig5a,
//! fig5b, fig5c, fig7): every number of the section by key (nested tables dotted:
//! `mamba.ood`), whether they were read off plots (`approx`), and the project's tolerance
//! and setup tables. A key the comparer maps (targets.rs, fig4.rs) must be present and a
//! number, so a malformed reference is one sentence rather than a silent gap.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

use crate::error::CompareError;
use crate::flat::Flat;

/// The project's acceptance bounds for single values (`[<section>.tolerance]`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueTolerance {
    /// Largest allowed |ours - paper| for a value read off a curve.
    pub value: Option<f64>,
    /// How far past the paper's upper or lower bound ours may lie.
    pub bound: Option<f64>,
}

/// One figure given as single numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueFigure {
    pub id: String,
    pub section: String,
    pub description: String,
    /// The numbers were read off the paper's plots.
    pub approx: bool,
    /// Every number of the section, in file order.
    pub values: Vec<(String, f64)>,
    /// Every other entry (text, lists), for the reader.
    pub other: Vec<(String, String)>,
    pub tolerance: Option<ValueTolerance>,
    /// The figure's own setup fields (config path -> value).
    pub setup: Flat,
}

impl ValueFigure {
    /// The section's entries that no row compares (numbers our mapping leaves out, then
    /// text), shown beside the table for the reader.
    pub(crate) fn context(&self, compared: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter(|(k, _)| !compared(k))
            .map(|(k, v)| (k.clone(), v.to_string()))
            .chain(self.other.iter().cloned())
            .collect()
    }
}

impl ValueFigure {
    pub fn value(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Keys that describe the section rather than hold a number of the paper.
const NOT_VALUES: [&str; 4] = ["description", "approx", "tolerance", "setup"];

fn walk(prefix: &str, t: &Table, values: &mut Vec<(String, f64)>, other: &mut Vec<(String, String)>) {
    for (k, v) in t {
        if prefix.is_empty() && NOT_VALUES.contains(&k.as_str()) {
            continue;
        }
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(inner) => walk(&key, inner, values, other),
            Value::Float(x) => values.push((key, *x)),
            Value::Integer(i) => values.push((key, *i as f64)),
            _ => other.push((key, v.to_string())),
        }
    }
}

/// Parses section `section` (figure `id`); `required` are the keys the comparer maps.
pub(crate) fn value_figure(
    id: &str,
    section: &str,
    t: &Table,
    required: &[&str],
    path: &Path,
) -> Result<ValueFigure, CompareError> {
    let bad = |what: String| CompareError::format(path, format!("[{section}] {what}"));
    let (mut values, mut other) = (Vec::new(), Vec::new());
    walk("", t, &mut values, &mut other);
    for key in required {
        if values.iter().any(|(k, _)| k == key) {
            continue;
        }
        return Err(match other.iter().find(|(k, _)| k == key) {
            Some((_, v)) => bad(format!("{key} must be a number, not {v}")),
            None => bad(format!(
                "has no {key}: msym compare compares it with our results and needs it as a number"
            )),
        });
    }
    let tolerance = match t.get("tolerance") {
        Some(v) => {
            let tol: ValueTolerance = v
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| bad(format!("tolerance: {}", e.message())))?;
            if [tol.value, tol.bound]
                .into_iter()
                .flatten()
                .any(|x| x.is_nan() || x < 0.0)
            {
                return Err(bad("tolerance: value and bound must be numbers >= 0".into()));
            }
            Some(tol)
        }
        None => None,
    };
    Ok(ValueFigure {
        id: id.to_string(),
        section: section.to_string(),
        description: t.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
        approx: t.get("approx").and_then(Value::as_bool).unwrap_or(false),
        values,
        other,
        tolerance,
        setup: crate::reference::to_flat(t.get("setup")),
    })
}
