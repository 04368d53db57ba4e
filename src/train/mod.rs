//! Training: networks on a backend, BP and DFA steps, and the epoch loop that fills the report.

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
pub mod trainer;

pub use crate::nn::init;
pub use options::RunOptions;
