//! Studies: fixed experiments that answer one question each, and `insitu eval` (a trained
//! model on a population of chips, read over drift time).

pub mod drift;
pub mod eval;
pub mod robustness;
pub mod search;
