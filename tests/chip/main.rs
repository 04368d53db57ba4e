//! The chip cost model, against closed forms and NeuroSim's figures.
//! One test binary per topic: each binary links the whole crate.

#[path = "../common/mod.rs"]
mod common;

mod dfa_scope;
mod model;
mod neurosim_matrix;
mod neurosim_mode;
mod reference;
mod training;
