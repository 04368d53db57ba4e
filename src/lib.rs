//! insitu: simulation of neural-network training and inference on compute-in-memory crossbars.

pub mod backend;
pub mod bench;
pub mod chip;
pub mod cli;
pub mod compress;
pub mod config;
pub mod cpu;
pub mod data;
pub mod experiment;
pub mod gpu;
pub mod limits;
pub mod model_io;
pub mod net;
pub mod nn;
pub mod plot;
pub mod progress;
pub mod provenance;
pub mod report;
pub mod rng;
pub mod select;
pub mod sgemm;
pub mod study;
pub mod sweep;
pub mod train;
pub mod wage;
pub mod xbar;
