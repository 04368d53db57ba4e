//! Column multiplexer: `mux` columns share one ADC through transmission gates.

use crate::chip::tech::Tech;

/// One transmission gate per column (~1 NAND2 equivalent) plus one select decoder of `mux`
/// outputs (~2 gates each) shared by the subarray's ADC groups, m^2.
pub fn area(t: &Tech, cols: usize, mux: usize) -> f64 {
    let decoder = if mux > 1 { 2.0 * mux as f64 } else { 0.0 };
    (cols as f64 + decoder) * t.gate_area()
}

/// Energy of routing one column to its ADC for one conversion (gate and select toggling), J.
pub fn switch_energy(t: &Tech) -> f64 {
    t.gate_energy()
}
