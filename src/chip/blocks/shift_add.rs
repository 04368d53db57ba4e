//! Shift-and-add register behind each ADC: accumulates the bit-serial input cycles of one column.

use super::{FLOP_GATES, FULL_ADDER_GATES};
use crate::chip::tech::Tech;

/// Register width: the ADC code shifted by up to `input_bits` places.
pub fn width(adc_bits: u32, input_bits: u32) -> usize {
    (adc_bits + input_bits) as usize
}

pub fn area(t: &Tech, width: usize) -> f64 {
    width as f64 * (FULL_ADDER_GATES + FLOP_GATES) * t.gate_area()
}

/// One accumulate step, J.
pub fn energy(t: &Tech, width: usize) -> f64 {
    width as f64 * (t.full_adder_energy() + t.flop_energy())
}

pub fn leakage(t: &Tech, width: usize) -> f64 {
    width as f64 * (FULL_ADDER_GATES + FLOP_GATES) * t.gate_leak()
}
