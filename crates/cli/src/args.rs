//! Arguments shared by every command that reads an experiment config.

use std::path::PathBuf;

use clap::Args;
use msym_config::ExperimentConfig;

use crate::error::CliError;

#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Experiment config (TOML); may also be given as --config.
    #[arg(value_name = "CONFIG", required_unless_present = "config_flag")]
    pub config: Option<PathBuf>,
    #[arg(long = "config", value_name = "CONFIG", conflicts_with = "config")]
    pub config_flag: Option<PathBuf>,
    /// Override a field: --set init.gamma=0.5 (repeatable; TOML values, bare words are strings).
    #[arg(long = "set", value_name = "SECTION.FIELD=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArgs {
    pub fn path(&self) -> PathBuf {
        self.config
            .clone()
            .or_else(|| self.config_flag.clone())
            .expect("clap requires one of them")
    }

    /// The config file's name without its extension (default output folder names).
    pub fn stem(&self) -> String {
        self.path()
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    /// Loads, overrides, resolves and validates the config.
    pub fn load(&self) -> Result<ExperimentConfig, CliError> {
        Ok(msym_config::load(&self.path(), &self.set)?)
    }

    pub fn resolved_toml(&self, cfg: &ExperimentConfig) -> String {
        msym_config::to_resolved_toml(cfg, &self.path(), &self.set)
    }
}
