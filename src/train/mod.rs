//! Training: networks on a backend, BP and DFA steps, epochs, metrics and reports.

pub mod augment;
pub mod cnn;
mod cnn_alignment;
pub mod cnn_block;
pub mod cnn_dfa;
pub mod cnn_insitu;
pub mod cnn_instances;
pub mod cnn_net;
pub mod cnn_penni_xbar;
mod cnn_products;
mod cnn_recalibrate;
mod cnn_weights;
pub mod cnn_xbar_eval;
pub mod epochs;
pub mod eval;
pub mod feed;
pub mod graph_init;
pub mod insitu;
pub mod options;
pub mod program;
pub mod report;
pub mod run;
pub mod wage;
pub mod wage_quant;
pub mod wage_update;

pub use crate::nn::init;
pub use options::RunOptions;
pub use report::RunReport;
pub use run::{run, run_on};
