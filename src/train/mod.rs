//! Training: networks on a backend, BP and DFA steps, epochs, metrics and reports.

pub mod augment;
pub mod epochs;
pub mod feed;
pub mod graph_init;
pub mod insitu;
pub mod net;
mod net_alignment;
pub mod net_block;
mod net_build;
pub mod net_cells;
mod net_conv_instances;
pub mod net_dfa;
pub mod net_insitu;
pub mod net_instances;
mod net_param;
pub mod net_penni_xbar;
mod net_products;
mod net_recalibrate;
mod net_shortcut;
mod net_step;
pub mod net_twin;
mod net_weights;
mod net_xbar;
pub mod net_xbar_eval;
pub mod options;
pub mod program;
pub mod report;
pub mod run;
pub mod trainer;
pub mod wage;
pub mod wage_quant;
pub mod wage_update;

pub use crate::nn::init;
pub use options::RunOptions;
pub use report::RunReport;
pub use run::{run, run_on};
