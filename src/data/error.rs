//! Loading errors. Each names the file involved, what was expected and what was found, so a bad
//! download or a wrong path can be fixed from the message alone.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: gzip stream is corrupt or incomplete: {source}")]
    Gzip {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "{file}: not an IDX {kind} file: expected magic 0x{expected:08x}, found 0x{found:08x}{hint}"
    )]
    Magic {
        file: String,
        kind: &'static str,
        expected: u32,
        found: u32,
        hint: &'static str,
    },
    #[error("{file}: expected {expected} bytes of {what}, found {found}")]
    Length {
        file: String,
        what: String,
        expected: u64,
        found: u64,
    },
    #[error("{images_file} holds {images} images but {labels_file} holds {labels} labels")]
    CountMismatch {
        images_file: String,
        images: usize,
        labels_file: String,
        labels: usize,
    },
    #[error("{file}: label {label} at index {index} is outside 0..{classes}{hint}")]
    LabelRange {
        file: String,
        index: usize,
        label: u32,
        classes: usize,
        hint: &'static str,
    },
    #[error("no {what} file in {dir}: tried {tried}; {listing}")]
    Missing {
        dir: String,
        what: &'static str,
        tried: String,
        listing: String,
    },
    #[error(
        "{file}: length {len} bytes is not a multiple of the CIFAR-10 record size {record} \
         (1 label byte + 3072 pixel bytes)"
    )]
    Records { file: String, len: u64, record: u64 },
    #[error("{file}: {message}")]
    Shape { file: String, message: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}
