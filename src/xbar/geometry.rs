//! The shape of a read (docs/crossbar.md, "Read"): which lines it drives, which columns it
//! converts, how the lines are grouped and passed, and the cell behind each (column, slice, line).
//!
//! Terms: a *line* is what the input drives (forward: row i of the K fan-in rows; transposed:
//! output j, driving the bitlines); a *column* is what one ADC conversion senses.
//! Forward columns: `set * N + j` for the data cells, then (offset) `N + h`, the reference lo/hi.
//! Transposed columns: `set * K + i`, then (offset) `K + h`, the reference rows.
//!
//! Forward lines are grouped `rows` per row group; transposed lines are grouped
//! `max(1, cols / (S * sets))` per group (the outputs whose columns share a subarray). A group
//! takes `n_pass = ceil(rows / parallel_rows)` passes of `pass` lines each (forward
//! `parallel_rows`, transposed `ceil(group / n_pass)`); passes with no lines are skipped.
//! Inputs take T = ceil(bits / d) cycles of d DAC bits.
//!
//! De-scaling: raw (levels x input codes) times s x_max / (M (2^bits - 1)) is in weight x
//! activation units.

use crate::config::Mapping;

use super::direction::Direction;
use super::mapping::LayerCells;
use crate::config::Xbar;

/// Shape of one read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Lines driven (K forward, N transposed).
    pub lines: usize,
    /// Outputs (N forward, K transposed).
    pub outs: usize,
    /// Columns converted per (group, pass, slice, cycle), references included.
    pub ncol: usize,
    /// Lines per group.
    pub group: usize,
    pub n_groups: usize,
    pub n_pass: usize,
    /// Lines per pass.
    pub pass: usize,
    pub slices: usize,
    /// Input cycles T = ceil(bits / d).
    pub cycles: usize,
    pub dac_bits: u32,
    /// Input bits (input_bits forward, error_bits transposed).
    pub in_bits: u32,
    pub adc_bits: u32,
}

/// The geometry of a read of `layer` in direction `dir`.
pub fn geometry(layer: &LayerCells, dir: Direction, cfg: &Xbar) -> Geometry {
    let a = &cfg.array;
    let sets = layer.sets();
    let refs = if layer.mapping == Mapping::Offset {
        2
    } else {
        0
    };
    let n_pass = a.rows.div_ceil(a.parallel_rows) as usize;
    let (lines, outs, group, in_bits, adc_bits) = match dir {
        Direction::Forward => (
            layer.fan_in,
            layer.fan_out,
            a.rows as usize,
            a.input_bits,
            a.adc_bits,
        ),
        Direction::Transposed => (
            layer.fan_out,
            layer.fan_in,
            (a.cols as usize / (layer.slices * sets)).max(1),
            a.error_bits,
            a.adc_bits_backward,
        ),
    };
    let pass = match dir {
        Direction::Forward => a.parallel_rows as usize,
        Direction::Transposed => group.div_ceil(n_pass),
    };
    Geometry {
        lines,
        outs,
        ncol: sets * outs + refs,
        group,
        n_groups: lines.div_ceil(group),
        n_pass,
        pass,
        slices: layer.slices,
        cycles: in_bits.div_ceil(a.dac_bits) as usize,
        dac_bits: a.dac_bits,
        in_bits,
        adc_bits,
    }
}

/// Factor from raw (levels x input codes) to weight x activation units: s x_max / (M Q_x).
pub fn descale(layer: &LayerCells, dir: Direction, x_max: f32, cfg: &Xbar) -> f64 {
    let geo = geometry(layer, dir, cfg);
    let qmax = ((1u64 << geo.in_bits) - 1) as f64;
    layer.scale as f64 * x_max as f64 / (layer.max_code() as f64 * qmax)
}

/// Cell index of column `c`, slice `k`, line `l` of a read in `dir`.
#[inline]
pub fn cell_id(layer: &LayerCells, dir: Direction, c: usize, k: usize, l: usize) -> usize {
    let (n, kk, s, sets) = (layer.fan_out, layer.fan_in, layer.slices, layer.sets());
    match dir {
        Direction::Forward if c < sets * n => (c * kk + l) * s + k,
        Direction::Forward => layer.ref_fwd_base() + (l * s + k) * 2 + (c - sets * n),
        Direction::Transposed if c < sets * kk => (((c / kk) * n + l) * kk + c % kk) * s + k,
        Direction::Transposed => layer.ref_bwd_base() + (l * s + k) * 2 + (c - sets * kk),
    }
}
