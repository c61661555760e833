//! `msym config CONFIG [--set k=v]...`: the resolved config, as a run would record it.

use clap::Args;

use crate::args::ConfigArgs;
use crate::error::CliError;

#[derive(Args)]
pub struct ConfigCommand {
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(c: ConfigCommand) -> Result<(), CliError> {
    let cfg = c.config.load()?;
    print!("{}", c.config.resolved_toml(&cfg));
    for line in cfg.task.assumptions() {
        eprintln!("note: {line}");
    }
    Ok(())
}
