//! Wordline and bitline drivers with their decoder slices: one per row and one per column (the
//! column drivers serve programming and transposed reads).

use crate::chip::tech::Tech;

/// NAND2 equivalents per line: decoder slice (~4), level shifter (~4) and a buffer chain (~4).
pub const GATES_PER_LINE: f64 = 12.0;

/// Driver area of a `rows` x `cols` subarray, m^2.
pub fn area(t: &Tech, rows: usize, cols: usize) -> f64 {
    (rows + cols) as f64 * GATES_PER_LINE * t.gate_area()
}

/// Energy of one line activation along `cells` cells at `volts`, J: the line load plus the
/// driver's own switching (~3 gates).
pub fn line_energy(t: &Tech, cells: usize, cap_per_cell: f64, volts: f64) -> f64 {
    cells as f64 * cap_per_cell * volts * volts + 3.0 * t.gate_energy()
}

/// Settling time of a line of `cells` cells: distributed RC (0.38 R C) plus 3 FO4 of driver, s.
pub fn line_delay(t: &Tech, cells: usize, pitch: f64, cap_per_cell: f64) -> f64 {
    let len = cells as f64 * pitch;
    0.38 * t.wire_res() * len * cells as f64 * cap_per_cell + 3.0 * t.fo4()
}

/// Leakage of the drivers of a `rows` x `cols` subarray, W.
pub fn leakage(t: &Tech, rows: usize, cols: usize) -> f64 {
    (rows + cols) as f64 * GATES_PER_LINE * t.gate_leak()
}
