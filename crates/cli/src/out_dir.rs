//! Output directories written all at once: the files go into a hidden temporary directory
//! beside the target, which is renamed into place only when every file is written, so a
//! crash or an error leaves no half-written output. An existing directory is replaced
//! only with --force.

use std::path::{Path, PathBuf};

use crate::error::CliError;

/// Writes files into a staging directory for `out`.
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// Writes `name` (a path relative to the directory; its folders are made as needed).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), CliError> {
        let p = self.dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::failed(format!("cannot make '{}': {e}", parent.display())))?;
        }
        msym_config::write_atomic(&p, bytes)
            .map_err(|e| CliError::failed(format!("cannot write '{}': {e}", p.display())))
    }
}

/// Runs `fill` on a staging directory and renames it to `out` when it succeeds.
pub fn write_dir(out: &Path, force: bool, fill: impl FnOnce(&Staging) -> Result<(), CliError>) -> Result<(), CliError> {
    if out.exists() && !force {
        return Err(CliError::input(format!(
            "--out {} already exists; pass --force to replace it",
            out.display()
        )));
    }
    let io = |p: &Path, e: std::io::Error| CliError::failed(format!("cannot write directory '{}': {e}", p.display()));
    let name = out.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let staging = Staging {
        dir: out.with_file_name(format!(".{name}.partial-{}", std::process::id())),
    };
    std::fs::create_dir_all(&staging.dir).map_err(|e| io(&staging.dir, e))?;
    let result = fill(&staging).and_then(|()| {
        if out.exists() {
            std::fs::remove_dir_all(out).map_err(|e| io(out, e))?;
        }
        std::fs::rename(&staging.dir, out).map_err(|e| io(out, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging.dir);
    }
    result
}
