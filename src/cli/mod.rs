//! Command-line commands (parsing lives in `main.rs`; these run and print).

pub mod backend;
pub mod estimate;
pub mod info;
pub mod plot;
pub mod sweep;
pub mod train;
