//! Studies: fixed experiments that answer one question each.

pub mod drift;
pub mod robustness;
pub mod search;
