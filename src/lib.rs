//! insitu: simulation of neural-network training and inference on compute-in-memory crossbars.

pub mod chip;
pub mod config;
pub mod nn;
pub mod rng;
