//! Reading an experiment file: TOML syntax, then --set overrides, then the schema, then the
//! defaults that depend on other sections, then validation.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

use crate::error::ConfigError;
use crate::overrides::Override;
use crate::schema::ExperimentConfig;
use crate::validate::validate;

/// Loads, overrides, resolves and validates `path`.
pub fn load(path: &Path, overrides: &[String]) -> Result<ExperimentConfig, ConfigError> {
    let cfg = load_unresolved(path, overrides)?.resolve();
    validate(&cfg, path)?;
    Ok(cfg)
}

/// Loads and overrides `path` without filling the defaults that depend on other fields
/// (so a caller can tell whether e.g. `data_seed` was given).
pub fn load_unresolved(path: &Path, overrides: &[String]) -> Result<ExperimentConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let overrides = overrides
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    parse(&text, path, &overrides)
}

/// Parses config text (exposed for tests and for configs embedded in other files).
pub fn parse(text: &str, path: &Path, overrides: &[Override]) -> Result<ExperimentConfig, ConfigError> {
    let from_file = toml::from_str::<ExperimentConfig>(text).map_err(|e| located(text, path, &e));
    if overrides.is_empty() {
        return from_file;
    }
    let mut doc: Table = toml::from_str(text).map_err(|e| located(text, path, &e))?;
    for o in overrides {
        o.apply(&mut doc)?;
    }
    ExperimentConfig::deserialize(Value::Table(doc)).map_err(|e| match from_file {
        // The file was already wrong on its own: point at its line.
        Err(file_error) => file_error,
        Ok(_) => ConfigError::ParseAfterOverrides {
            path: path.to_path_buf(),
            message: sentence(e.message()),
        },
    })
}

fn located(text: &str, path: &Path, e: &toml::de::Error) -> ConfigError {
    let line = e
        .span()
        .map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        message: sentence(e.message()),
    }
}

/// toml's messages can span lines; keep one sentence.
fn sentence(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The resolved config as TOML, with a header saying where it came from.
pub fn to_resolved_toml(cfg: &ExperimentConfig, source: &Path, overrides: &[String]) -> String {
    let body = toml::to_string(cfg).expect("every config field serializes to TOML");
    let mut header = format!(
        "# Resolved experiment config, written by msym {}.\n# Source: {}\n",
        env!("CARGO_PKG_VERSION"),
        source.display()
    );
    for o in overrides {
        header.push_str(&format!("# --set {o}\n"));
    }
    header.push_str("# Every default is explicit: loading this file alone gives the same experiment.\n\n");
    header + &body
}
