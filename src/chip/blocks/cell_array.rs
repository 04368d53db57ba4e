//! The memory cells of one subarray: footprint, read energy per active cell and bitline, write
//! energy per programming pulse.

use crate::chip::tech::{ReadMode, Tech, WriteMode};
use crate::config::DeviceConfig;

/// Footprint of `rows` x `cols` cells, m^2.
pub fn area(t: &Tech, rows: usize, cols: usize) -> f64 {
    (rows * cols) as f64 * t.cell_area()
}

/// Mean conductance of a cell whose normalised level is `level` in [0, 1], S.
pub fn conductance(d: &DeviceConfig, level: f64) -> f64 {
    d.g_min() + level * (d.g_max - d.g_min())
}

/// Energy of one active cell during one read pulse, J. Resistive cells pass V_r^2 G t_read;
/// capacitive (SRAM) cells spend their energy on the bitline instead (see `bitline_energy`).
pub fn cell_read_energy(t: &Tech, d: &DeviceConfig, level: f64) -> f64 {
    cell_conduction_energy(t, d, level, d.t_read)
}

/// Energy of one active cell conducting for `time` seconds, J (0 for capacitive cells).
pub fn cell_conduction_energy(t: &Tech, d: &DeviceConfig, level: f64, time: f64) -> f64 {
    match t.cell.read {
        ReadMode::Resistive => d.v_read * d.v_read * conductance(d, level) * time,
        ReadMode::Capacitive => 0.0,
    }
}

/// Energy to bring one sensed line of `cells` cells to its read level, J: a bitline clamped at
/// V_read for resistive cells, precharged to VDD (and discharged) for capacitive ones.
pub fn bitline_energy(t: &Tech, d: &DeviceConfig, cells: usize) -> f64 {
    let c = cells as f64 * t.bl_cap_per_cell();
    let v = match t.cell.read {
        ReadMode::Resistive => d.v_read,
        ReadMode::Capacitive => t.vdd(),
    };
    c * v * v
}

/// Energy of one programming pulse on one cell, J (mid-range conductance for resistive cells).
pub fn write_pulse_energy(t: &Tech, d: &DeviceConfig) -> f64 {
    match t.cell.write {
        WriteMode::Resistive => d.v_write * d.v_write * conductance(d, 0.5) * d.t_write,
        WriteMode::Capacitive => t.ferro_cap() * d.v_write * d.v_write,
        WriteMode::Sram => t.sram_bit_energy(),
    }
}
