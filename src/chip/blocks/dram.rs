//! Off-chip DRAM traffic (training): energy per bit and bandwidth of the chosen interface.

use crate::chip::tech::Tech;

/// Energy of moving `bits` to or from DRAM, J.
pub fn energy(t: &Tech, bits: f64) -> f64 {
    bits * t.dram_energy_per_bit()
}

/// Time to move `bits` at the interface's peak bandwidth, s.
pub fn time(t: &Tech, bits: f64) -> f64 {
    bits / t.dram_bandwidth()
}
