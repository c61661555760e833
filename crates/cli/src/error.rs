//! The CLI's error: one sentence for the user and an exit code (2: bad input, 1: a check
//! or the work itself failed).

pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    /// The user's input (config, flag, path) is wrong.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }

    /// The input was fine but the work failed (I/O, a check that did not pass).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<msym_config::ConfigError> for CliError {
    fn from(e: msym_config::ConfigError) -> Self {
        CliError::input(e.to_string())
    }
}
