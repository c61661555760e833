//! Configs as flat maps from dotted field paths (`init.gamma`) to values, the names
//! `--set` and the sweep grid use. Tables are walked; arrays (shift tables, pair
//! overrides) are leaves, compared whole.

use std::collections::BTreeMap;

use serde_json::Value;

/// Dotted field path -> value.
pub type Flat = BTreeMap<String, Value>;

/// Flattens a JSON object (a config read from TOML or JSON).
pub fn flatten(v: &Value) -> Flat {
    let mut out = Flat::new();
    walk("", v, &mut out);
    out
}

fn walk(prefix: &str, v: &Value, out: &mut Flat) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

/// Equal as config values: numbers by value (TOML's 1e-5 and 0.00001, 300000 and
/// 300000.0 are one value), everything else structurally.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same_value(a, b)))
        }
        _ => a == b,
    }
}

/// A value as a reader writes it: strings bare, numbers in their shortest form.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(absent)".into(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_flatten_to_dotted_paths_and_arrays_stay_whole() {
        let f = flatten(&json!({"seed": 1, "init": {"gamma": 0.5}, "task": {"shifts": [5, 1]}}));
        let keys: Vec<&str> = f.keys().map(String::as_str).collect();
        assert_eq!(keys, ["init.gamma", "seed", "task.shifts"]);
        assert_eq!(f["task.shifts"], json!([5, 1]));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same_value(&json!(300000), &json!(300000.0)));
        assert!(same_value(&json!(1e-5), &json!(0.00001)));
        assert!(!same_value(&json!(0.5), &json!(1.0)));
        assert!(!same_value(&json!([1, 2]), &json!([1, 2, 3])));
        assert!(!same_value(&json!("0.5"), &json!(0.5)));
    }
}
