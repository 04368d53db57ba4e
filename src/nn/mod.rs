//! Network descriptions shared by the simulation and the chip cost model.

pub mod arch;
pub mod block;
pub mod conv;
pub mod model;
pub mod pool;
