//! Network descriptions shared by the simulation and the chip cost model.

pub mod arch;
