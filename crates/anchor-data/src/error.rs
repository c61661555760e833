//! One error type for a task that cannot be generated, naming the field at fault.

/// A task configuration that cannot be generated. Displays as one sentence that names
/// the field (`task.<field>`), the value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("task.{field} {message}")]
pub struct TaskError {
    pub field: String,
    pub message: String,
}

pub(crate) fn bad(field: &str, message: impl Into<String>) -> TaskError {
    TaskError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Split weights must all be positive: an empty group cannot be scored.
pub(crate) fn check_weights(weights: &[(&str, u32)]) -> Result<(), TaskError> {
    match weights.iter().find(|(_, w)| *w == 0) {
        Some((field, _)) => Err(bad(
            field,
            "= 0; every split needs a positive weight, or its groups are empty",
        )),
        None => Ok(()),
    }
}
