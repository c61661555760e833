//! `--set section.field=value` overrides, applied to the parsed TOML before the schema.

use toml::{Table, Value};

use crate::error::ConfigError;

/// One parsed override: a dotted path and a TOML value.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub arg: String,
    pub path: Vec<String>,
    pub value: Value,
}

impl Override {
    /// Parses `a.b=value`. The value is read as TOML (`0.5`, `true`, `"x"`, `[1, 2]`);
    /// anything that is not valid TOML is taken as a bare string (`kind=transformer`).
    pub fn parse(arg: &str) -> Result<Self, ConfigError> {
        let bad = |message: &str| ConfigError::BadOverride {
            arg: arg.to_string(),
            message: message.to_string(),
        };
        let (key, raw) = arg.split_once('=').ok_or_else(|| bad("expected section.field=value"))?;
        let path: Vec<String> = key.trim().split('.').map(|s| s.trim().to_string()).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(bad("the field path has an empty part; write it like init.gamma"));
        }
        let raw = raw.trim();
        let value = match format!("v = {raw}").parse::<Table>() {
            Ok(mut t) => t.remove("v").expect("the key just written"),
            Err(_) => Value::String(raw.to_string()),
        };
        Ok(Self {
            arg: arg.to_string(),
            path,
            value,
        })
    }

    /// Sets the value in `doc`, creating missing tables; refuses to descend into a value
    /// that is not a table.
    pub fn apply(&self, doc: &mut Table) -> Result<(), ConfigError> {
        let (last, parents) = self.path.split_last().expect("non-empty path");
        let mut table = doc;
        for (i, part) in parents.iter().enumerate() {
            let entry = table.entry(part.clone()).or_insert_with(|| Value::Table(Table::new()));
            table = entry.as_table_mut().ok_or_else(|| ConfigError::BadOverride {
                arg: self.arg.clone(),
                message: format!("'{}' is a value, not a section", self.path[..=i].join(".")),
            })?;
        }
        table.insert(last.clone(), self.value.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_as_toml_and_bare_words_as_strings() {
        assert_eq!(Override::parse("init.gamma=0.5").unwrap().value, Value::Float(0.5));
        assert_eq!(Override::parse("seed=2").unwrap().value, Value::Integer(2));
        assert_eq!(
            Override::parse("model.kind=transformer").unwrap().value,
            Value::String("transformer".into())
        );
        assert_eq!(
            Override::parse("model.gated_residual = true").unwrap().value,
            Value::Boolean(true)
        );
        assert!(Override::parse("init.gamma").is_err());
        assert!(Override::parse("init..gamma=1").is_err());
    }

    #[test]
    fn apply_creates_sections_and_refuses_to_descend_into_values() {
        let mut doc: Table = "seed = 1\n[task]\nkind = \"composite\"\n".parse().unwrap();
        Override::parse("init.gamma=2.0").unwrap().apply(&mut doc).unwrap();
        assert_eq!(doc["init"]["gamma"], Value::Float(2.0));
        let err = Override::parse("seed.x=1").unwrap().apply(&mut doc).unwrap_err();
        assert!(err.to_string().contains("'seed' is a value, not a section"), "{err}");
    }
}
