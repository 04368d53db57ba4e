//! The training-only weight-gradient unit: a systolic array of digital MACs computing
//! dW = sum over the batch of x (inputs) times delta (errors), with a gradient buffer.

use super::{FLOP_GATES, FULL_ADDER_GATES};
use crate::chip::tech::Tech;

#[derive(Debug, Clone, Copy)]
pub struct WgUnit {
    pub macs: u32,
    pub x_bits: u32,
    pub e_bits: u32,
    pub acc_bits: u32,
}

impl WgUnit {
    /// Operands fetched from SRAM are shared along a row or column of the square systolic array.
    fn reuse(&self) -> f64 {
        (self.macs as f64).sqrt().max(1.0)
    }

    /// Gates of one MAC: x_bits * e_bits partial-product cells (a full adder each) plus an
    /// accumulator (adder and register) of `acc_bits`.
    fn gates_per_mac(&self) -> f64 {
        (self.x_bits * self.e_bits) as f64 * FULL_ADDER_GATES
            + self.acc_bits as f64 * (FULL_ADDER_GATES + FLOP_GATES)
    }

    pub fn area(&self, t: &Tech) -> f64 {
        self.macs as f64 * self.gates_per_mac() * t.gate_area()
    }

    /// One MAC: multiplier array (Horowitz 2014: an 8x8 multiply ~ 64 full-adder cells),
    /// accumulate, and the operand fetch amortised over the systolic reuse, J.
    pub fn mac_energy(&self, t: &Tech) -> f64 {
        (self.x_bits * self.e_bits) as f64 * t.full_adder_energy()
            + self.acc_bits as f64 * (t.full_adder_energy() + t.flop_energy())
            + (self.x_bits + self.e_bits) as f64 * t.sram_bit_energy() / self.reuse()
    }

    /// Time for `macs` multiply-accumulates, s.
    pub fn time(&self, macs: f64, clock_hz: f64) -> f64 {
        macs / (self.macs as f64 * clock_hz)
    }

    pub fn leakage(&self, t: &Tech) -> f64 {
        self.macs as f64 * self.gates_per_mac() * t.gate_leak()
    }
}
