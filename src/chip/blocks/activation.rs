//! Activation (ReLU and requantisation) and pooling units at the tile outputs.

use super::{FLOP_GATES, FULL_ADDER_GATES};
use crate::chip::tech::Tech;
use crate::nn::arch::PoolKind;

/// Activation unit for `lanes` values of `bits` bits: a comparator/clamp per lane (~1 adder bit
/// and a register bit per bit), m^2.
pub fn activation_area(t: &Tech, lanes: usize, bits: u32) -> f64 {
    (lanes * bits as usize) as f64 * (FULL_ADDER_GATES + FLOP_GATES) * t.gate_area()
}

/// ReLU plus requantisation of one value, J.
pub fn activation_energy(t: &Tech, bits: u32) -> f64 {
    bits as f64 * (t.full_adder_energy() + t.flop_energy())
}

/// Pooling unit for `lanes` values: a running max or sum register per lane, m^2.
pub fn pool_area(t: &Tech, lanes: usize, bits: u32) -> f64 {
    (lanes * (bits as usize + 2)) as f64 * (FULL_ADDER_GATES + FLOP_GATES) * t.gate_area()
}

/// Energy of pooling a layer's output of `outputs` values (before pooling), J: one compare or add
/// of `bits` bits per input value (2x2 windows and global averages alike).
pub fn pool_energy(t: &Tech, kind: PoolKind, outputs: f64, bits: u32) -> f64 {
    let width = match kind {
        PoolKind::Max => bits as f64,
        PoolKind::Avg | PoolKind::Global => bits as f64 + 2.0,
    };
    outputs * width * (t.full_adder_energy() + t.flop_energy())
}

pub fn leakage(t: &Tech, area: f64) -> f64 {
    area / t.gate_area() * t.gate_leak()
}
