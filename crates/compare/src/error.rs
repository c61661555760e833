//! One sentence per mistake, naming the file and what was expected.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    NoResults { path: PathBuf, message: String },
    /// A file a figure's comparison needs is absent (fig4 without its analysis CSVs).
    #[error("{} does not exist: {message}", path.display())]
    Missing { path: PathBuf, message: String },
}

impl CompareError {
    pub(crate) fn format(path: &std::path::Path, message: impl Into<String>) -> Self {
        // serde's messages can span lines; keep one sentence.
        let message: String = message.into();
        CompareError::Format {
            path: path.to_path_buf(),
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

/// Reads a file, naming it in the error.
pub(crate) fn read(path: &std::path::Path) -> Result<String, CompareError> {
    std::fs::read_to_string(path).map_err(|source| CompareError::Read {
        path: path.to_path_buf(),
        source,
    })
}
