//! A network on a backend, the one engine every network runs on: any layer graph (dense, conv,
//! pool, batch norm, residual, PENNI) with P population instances in one set of buffers, its
//! forward pass, loss and backward pass (backpropagation or DFA), the SGD step, and weights held
//! as conductances on crossbar layers (reads, programming, ADC calibration on a twin). The
//! training loop that drives it lives in `train`.

pub mod attach;
pub mod block;
mod build;
pub mod cells;
mod conv_instances;
pub mod dfa;
pub mod instances;
pub mod mapping;
pub mod network;
mod param;
pub mod penni_xbar;
mod products;
mod shortcut;
mod step;
pub mod twin;
mod weights;
pub mod xbar;
pub mod xbar_steps;

pub use instances::Hyper;
pub use network::{FeedbackArray, Kind, LayerBufs, Net, NetDfa, Weights};
pub use param::Param;
