//! Network descriptions shared by the simulation and the chip cost model.

pub mod arch;
pub mod block;
pub mod check;
pub mod chip_layers;
pub mod conv;
pub mod counts;
pub mod fold;
pub mod init;
pub mod model;
pub mod pool;
