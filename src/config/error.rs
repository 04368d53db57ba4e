//! Configuration errors that name the field, the value and what is allowed.

use std::fmt::Display;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config field `{field}` = {value}: allowed {allowed}")]
    Invalid {
        field: String,
        value: String,
        allowed: String,
    },
    #[error("{0}")]
    Parse(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// `Ok(())` if `ok`, else an error naming `field`, its `value` and the `allowed` set.
pub fn check(field: &str, value: impl Display, ok: bool, allowed: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field: field.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        })
    }
}
