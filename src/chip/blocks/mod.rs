//! Circuit blocks, one concept per file. Each gives area (m^2), energy per operation (J) and
//! latency (s) from the technology tables; the mapping and tally decide how often they act.

pub mod activation;
pub mod adc;
pub mod adder_tree;
pub mod buffer;
pub mod cell_array;
pub mod dram;
pub mod drivers;
pub mod interconnect;
pub mod mux;
pub mod neurosim_fit;
pub mod shift_add;
pub mod wg_unit;
pub mod write_path;

/// NAND2 equivalents of a full adder: FA_X1 / NAND2_X1 area in the Nangate FreePDK45 open cell
/// library (4.256 / 0.798 um^2).
pub const FULL_ADDER_GATES: f64 = 5.3;
/// NAND2 equivalents of a D flip-flop: DFF_X1 / NAND2_X1 in the same library (4.522 / 0.798).
pub const FLOP_GATES: f64 = 5.7;
