//! Reading a JSON file of a results folder (summary.json, cells.json, a run's manifest), with
//! the file named in the error a command prints.

use std::path::Path;

use crate::error::CliError;

/// The JSON value in `path`; unreadable or invalid JSON is bad input (exit 2).
pub fn read_json(path: &Path) -> Result<serde_json::Value, CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| CliError::input(format!("{} is not valid JSON: {e}", path.display())))
}
