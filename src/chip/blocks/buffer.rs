//! SRAM buffers (tile, global, gradient): area, energy per bit, leakage, bandwidth.

use crate::chip::tech::Tech;

/// Array efficiency of small SRAM macros (~2/3: decoders, sense amplifiers and I/O take the rest;
/// CACTI reports 50-75% for 8-64 KiB macros).
pub const ARRAY_EFFICIENCY: f64 = 0.67;

pub fn bits(kib: f64) -> f64 {
    kib * 1024.0 * 8.0
}

pub fn area(t: &Tech, kib: f64) -> f64 {
    bits(kib) * t.sram_bit_area() / ARRAY_EFFICIENCY
}

/// Energy of reading or writing `bits` bits, J.
pub fn energy(t: &Tech, bits: f64) -> f64 {
    bits * t.sram_bit_energy()
}

pub fn leakage(t: &Tech, kib: f64) -> f64 {
    bits(kib) * t.sram_bit_leak()
}

/// Time to stream `bits` through a port of `port_bits` at `clock_hz`, s.
pub fn stream_time(bits: f64, port_bits: u32, clock_hz: f64) -> f64 {
    bits / (port_bits as f64 * clock_hz)
}

/// Register-file buffers (flip-flops, as NeuroSim's default buffers): area of `bits` bits, m^2.
pub fn register_area(t: &Tech, bits: f64) -> f64 {
    bits * super::FLOP_GATES * t.gate_area()
}

/// Energy of writing or reading `bits` bits of a register file, J.
pub fn register_energy(t: &Tech, bits: f64) -> f64 {
    bits * t.flop_energy()
}

pub fn register_leakage(t: &Tech, bits: f64) -> f64 {
    bits * super::FLOP_GATES * t.gate_leak()
}
