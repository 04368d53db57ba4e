//! Adder trees that sum partial results of several subarrays (in a PE), PEs (in a tile) or tiles
//! (at the chip's accumulation unit).

use super::FULL_ADDER_GATES;
use crate::chip::tech::Tech;

/// Area of `lanes` trees of `inputs` operands each, `width` bits wide, m^2.
pub fn area(t: &Tech, inputs: usize, lanes: usize, width: usize) -> f64 {
    if inputs < 2 {
        return 0.0;
    }
    let levels = (inputs as f64).log2().ceil();
    ((inputs - 1) * lanes) as f64 * (width as f64 + levels) * FULL_ADDER_GATES * t.gate_area()
}

/// Energy of `adds` additions of `width` bits, J.
pub fn energy(t: &Tech, adds: f64, width: usize) -> f64 {
    adds * width as f64 * t.full_adder_energy()
}

/// Pipelined tree: one clock per level.
pub fn latency(inputs: usize, clock_hz: f64) -> f64 {
    (inputs.max(1) as f64).log2().ceil() / clock_hz
}

pub fn leakage(t: &Tech, inputs: usize, lanes: usize, width: usize) -> f64 {
    area(t, inputs, lanes, width) / t.gate_area() * t.gate_leak()
}
