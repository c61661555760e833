//! Config errors. Each displays as one sentence naming the file or override, the field,
//! the value and what is allowed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file '{}': {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A TOML or schema error in the file itself, with its 1-based line.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A schema error that appears only once the --set overrides are applied.
    #[error("{}, after the --set overrides: {message}", path.display())]
    ParseAfterOverrides { path: PathBuf, message: String },
    #[error("--set '{arg}': {message}")]
    BadOverride { arg: String, message: String },
    /// A value that parses but is not allowed.
    #[error("{}: {field} = {value}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        field: String,
        value: String,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Task {
        path: PathBuf,
        source: anchor_data::TaskError,
    },
}
