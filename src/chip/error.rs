//! Errors of the chip cost model.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum ChipError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A technology table (embedded or `[chip] tech_file`) that cannot be used.
    #[error("technology file {file}: {message}")]
    Tech { file: String, message: String },
    /// A NetWork.csv row that cannot be read.
    #[error("{file}:{line}: column {column} ({name}): {message}")]
    Netlist {
        file: String,
        line: usize,
        column: usize,
        name: &'static str,
        message: String,
    },
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    /// Inputs that are individually valid but do not fit together.
    #[error("{0}")]
    Request(String),
}
