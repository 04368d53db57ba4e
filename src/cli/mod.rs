//! Command-line commands (parsing lives in `main.rs`; these run and print).

pub mod backend;
pub mod bench;
pub mod compress;
pub mod demo;
pub mod estimate;
pub mod eval;
pub mod info;
pub mod outpath;
pub mod plot;
pub mod robustness;
pub mod sweep;
pub mod train;
