//! insitu: simulation of neural-network training and inference on compute-in-memory crossbars.

pub mod config;
pub mod rng;
pub mod xbar;
