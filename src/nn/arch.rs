//! The layer-list grammar and shape inference belong to the experiment schema
//! (`config::arch`, `config::shape`); the network code reads them from here.

pub use crate::config::arch::*;
pub use crate::config::shape::*;
