//! PENNI compression (kernel sharing with sparse coefficients, Li et al. 2020): decompose,
//! retrain with L1 on coefficients, prune, fine-tune, shrink; and the stage table.

pub mod eigen;
pub mod penni;
pub mod phase;
pub mod pipeline;

pub use crate::config::compress as config;
