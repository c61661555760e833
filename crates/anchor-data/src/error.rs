//! One error type for a task that cannot be generated, naming the field at fault.

/// A task configuration that cannot be generated. Displays as one sentence that names
/// the field (`task.<field>`), the value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("task.{field}: {message}")]
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
