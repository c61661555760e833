//! Which of the paper's figures a cell belongs to: the config's `figure` field when it
//! names one, otherwise read off the experiment itself (task, model, variant), so results
//! of configs written before the field existed still find their figure.

use serde_json::Value;

use crate::flat::Flat;

/// A figure id of SPEC section 4 and how it was decided.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FigureId {
    pub id: String,
    /// "named by the config" or the inference, e.g. "inferred: composite task, mamba2, ...".
    pub how: String,
}

/// The figure of one cell's config; None when it matches none of the paper's settings.
pub fn identify(config: &Flat) -> Option<FigureId> {
    let s = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("");
    let b = |k: &str| config.get(k).and_then(Value::as_bool).unwrap_or(false);
    if !s("figure").is_empty() {
        return Some(FigureId {
            id: s("figure").to_string(),
            how: "named by the config's `figure`".into(),
        });
    }
    let (task, model) = (s("task.kind"), s("model.kind"));
    let id = match (task, model) {
        ("inverse_matching", _) => "fig7",
        ("full_symmetry", _) => "fig5a",
        ("composite", "transformer") if b("model.conv_before_qkv") => "fig6",
        ("composite", "transformer") => "ref",
        ("composite", "mamba2") if s("model.conv") == "all_ones_frozen" => "fig5b",
        ("composite", "mamba2") if s("model.pos_encoding") != "none" => "fig5c",
        ("composite", "mamba2") if b("model.gated_residual") => "supp",
        ("composite", "mamba2") if b("model.residual_around_conv") => return None,
        ("composite", "mamba2") => "fig3",
        _ => return None,
    };
    let mut what = vec![format!("{task} task"), model.to_string()];
    if model == "mamba2" {
        what.push(format!("conv {}", s("model.conv")));
        what.push(format!("pos_encoding {}", s("model.pos_encoding")));
    } else if model == "transformer" {
        what.push(format!("conv_before_qkv {}", b("model.conv_before_qkv")));
    }
    Some(FigureId {
        id: id.into(),
        how: format!(
            "inferred from the config ({}); set `figure` to name it",
            what.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat::flatten;
    use serde_json::json;

    fn fig(v: Value) -> Option<String> {
        identify(&flatten(&v)).map(|f| f.id)
    }

    #[test]
    fn the_named_figure_wins_and_the_rest_is_inferred() {
        let mamba = |conv: &str, pos: &str| {
            json!({"task": {"kind": "composite"}, "model": {"kind": "mamba2", "conv": conv, "pos_encoding": pos,
                "residual_around_conv": false, "gated_residual": false}})
        };
        assert_eq!(fig(mamba("learned", "none")).as_deref(), Some("fig3"));
        assert_eq!(fig(mamba("all_ones_frozen", "none")).as_deref(), Some("fig5b"));
        assert_eq!(fig(mamba("learned", "sinusoidal")).as_deref(), Some("fig5c"));
        let mut named = mamba("learned", "none");
        named["figure"] = json!("fig6");
        assert_eq!(fig(named).as_deref(), Some("fig6"));
        let tf = |conv: bool| json!({"task": {"kind": "composite"}, "model": {"kind": "transformer", "conv_before_qkv": conv}});
        assert_eq!(fig(tf(true)).as_deref(), Some("fig6"));
        assert_eq!(fig(tf(false)).as_deref(), Some("ref"));
        assert_eq!(
            fig(json!({"task": {"kind": "inverse_matching"}})).as_deref(),
            Some("fig7")
        );
        let mut residual = mamba("learned", "none");
        residual["model"]["residual_around_conv"] = json!(true);
        assert_eq!(fig(residual), None);
    }
}
