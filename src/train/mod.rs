//! Training: the epoch loop that drives a network (`net`) over the data on a backend, with ADC
//! recalibration, the DFA alignment diagnostic, evaluation and the report.

pub mod alignment;
pub mod augment;
pub mod epochs;
pub mod feed;
pub mod graph_init;
pub mod options;
mod recalibrate;
pub mod trainer;
pub mod xbar_eval;

pub use options::RunOptions;
