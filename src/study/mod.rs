//! Studies: fixed experiments that answer one question each.

pub mod robustness;
