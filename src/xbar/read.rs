//! The quantized analog read, forward (y = W x) and transposed (e_in = W^T e_out): the reference
//! the fused GPU kernel is tested against (docs/crossbar.md, "Read").
//!
//! Terms: a *line* is what the input drives (forward: row i of the K fan-in rows; transposed:
//! output j, driving the bitlines); a *column* is what one ADC conversion senses.
//! Forward columns: `set * N + j` for the data cells, then (offset) `N + h`, the reference lo/hi.
//! Transposed columns: `set * K + i`, then (offset) `K + h`, the reference rows.
//!
//! Geometry: forward lines are grouped `rows` per row group; transposed lines are grouped
//! `max(1, cols / (S * sets))` per group (the outputs whose columns share a subarray). A group takes
//! `n_pass = ceil(rows / parallel_rows)` passes of `pass` lines each (forward `parallel_rows`,
//! transposed `ceil(group / n_pass)`); passes with no lines are skipped.
//!
//! Per sample b, sign pass s (positive inputs, then for signed reads the negated negative ones),
//! group g, pass p, slice k, cycle t, column c, in this order:
//! 1. q = floor((2^bits - 1) clamp(x / x_max, 0, 1) + 0.5); digit q_t = (q >> d t) & (2^d - 1).
//! 2. I = sum over the pass's lines l with q_t,l != 0, in increasing l, of
//!    q_t,l * G_eff(l,c,k) * (1 + read_noise z_read)  (f32),
//!    G_eff = (stuck value or g) * drift * max(0, 1 + d2d z_d2d), drift = `drift::factor` of
//!    the cell (t^(-nu_i)); read_noise is the drifted `drift::read_noise_at`.
//! 3. The ADC (`adc`): v = (I - floor_i) * inv_lsb + output_noise z_out.
//! 4. code = clamp(floor(v + 0.5), 0, 2^b_a - 1); clipped if floor(v + 0.5) was outside.
//! 5. Shift-add in i64: acc_o += (2 code_o - code_lo - code_hi) << (c k + d t) (offset) or
//!    (code_o+ - code_o-) << (c k + d t) (differential).
//!
//! After all groups: raw = step * (acc_positive - acc_negative) (f64), which equals
//! sum_l code_w(l, o) q_l (integer weight code x input code) on an ideal array, and
//! y = raw * s x_max / (M (2^bits - 1)).
//!
//! Draw indices: read noise `[cell, read_counter, tag, b]`, output noise
//! `[conversion, read_counter, tag, b]` with conversion = ((g * n_pass + p) * S + k) * ncol + c;
//! see `draws`.
//!
//! Files: this one holds the shapes (geometry, cell indices) and the read's entry points, which
//! run the GEMM formulation (`fast_read`); `reference` is the plain per-conversion loop the fast
//! path is tested against; `calibration` sets the `calibrated` ADC range from one read.

mod calibration;
mod reference;

use std::ops::AddAssign;

use crate::config::Mapping;

pub use super::adc::adc_step;
use super::effective::{pack, Frozen};
use super::fast_read::{self, Plan};
use super::knobs::Knobs;
use super::mapping::LayerCells;
use crate::config::Xbar;

pub use calibration::{
    calibrate, calibrate_read_with, calibrate_with, calibration_range_reference,
};
pub(super) use reference::{effective, minmax_scale, minmax_shift_add};
pub use reference::{output_referred, read_raw_reference, OUT_REF};

/// Which way the array is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Inputs on the rows (fan-in), outputs on the columns.
    Forward,
    /// Inputs on the columns (fan-out), outputs on the rows: W^T e.
    Transposed,
}

/// Activity of one call, exact integers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Sum over reads (sample, sign pass, group, pass, cycle) of lines with a nonzero digit.
    pub active_rows: u64,
    /// ADC conversions, reference columns included.
    pub adc_conversions: u64,
    /// Conversions whose rounded value fell outside [0, 2^b - 1].
    pub adc_clipped: u64,
}

impl AddAssign for Counters {
    fn add_assign(&mut self, o: Self) {
        self.active_rows += o.active_rows;
        self.adc_conversions += o.adc_conversions;
        self.adc_clipped += o.adc_clipped;
    }
}

/// Input code q of one value.
#[inline]
pub fn input_code(x: f32, x_max: f32, bits: u32) -> u32 {
    let qmax = ((1u32 << bits) - 1) as f32;
    super::device::floor(qmax * (x / x_max).clamp(0.0, 1.0) + 0.5) as u32
}

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

/// One read of `x` (`[batch][lines]`): the inputs, their range and sign handling, the noise key.
#[derive(Debug, Clone, Copy)]
pub struct ReadInput<'a> {
    pub x: &'a [f32],
    pub batch: usize,
    pub x_max: f32,
    /// Negative inputs are read in a second pass and subtracted (else they count as 0).
    pub signed: bool,
    pub read_counter: u32,
}

impl<'a> ReadInput<'a> {
    /// Non-negative inputs (negative ones count as 0), read counter 0.
    pub fn new(x: &'a [f32], batch: usize, x_max: f32) -> ReadInput<'a> {
        ReadInput {
            x,
            batch,
            x_max,
            signed: false,
            read_counter: 0,
        }
    }

    /// With negative inputs read in a second pass (`signed`) or counted as 0.
    pub fn signed(self, signed: bool) -> ReadInput<'a> {
        ReadInput { signed, ..self }
    }

    /// With the read counter that keys the read's noise draws.
    pub fn counter(self, read_counter: u32) -> ReadInput<'a> {
        ReadInput {
            read_counter,
            ..self
        }
    }
}

/// The GEMM plan of a read of `inp` (input checked first); `None` when the effective
/// conductances rule the fast path out.
pub(super) fn checked_plan<'a>(
    layer: &'a LayerCells,
    dir: Direction,
    inp: &ReadInput<'a>,
    cfg: &Xbar,
    knobs: &'a Knobs,
    eff: &'a [f32],
) -> Option<Plan<'a>> {
    check_input(layer, dir, cfg, inp);
    Plan::new(
        layer,
        dir,
        inp.x,
        inp.x_max,
        inp.signed,
        cfg,
        knobs,
        inp.read_counter,
        eff,
    )
}

pub(super) fn check_input(layer: &LayerCells, dir: Direction, cfg: &Xbar, inp: &ReadInput) {
    let geo = geometry(layer, dir, cfg);
    assert_eq!(
        inp.x.len(),
        inp.batch * geo.lines,
        "input must be batch x {}",
        geo.lines
    );
    assert!(
        inp.x_max > 0.0 && inp.x_max.is_finite(),
        "x_max must be positive, got {}",
        inp.x_max
    );
}

/// |I| in levels of every data-column conversion of the reference read of `inp`, in the
/// reference's order: the values a calibration takes its percentiles of.
pub fn reference_levels(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> Vec<f32> {
    let mut seen = Vec::new();
    reference::read_core(layer, dir, inp, cfg, knobs, Some(&mut seen));
    seen
}

/// Effective conductances of a read of `layer` (see `effective::pack`), drawn afresh.
pub fn packed(layer: &LayerCells, dir: Direction, cfg: &Xbar, knobs: &Knobs) -> Vec<f32> {
    let frozen = Frozen::draw(layer, cfg, knobs);
    pack(layer, dir, cfg, frozen.as_ref())
}

/// Raw read with the effective conductances `eff` (`packed`, or an `EffCache`'s): the GEMM
/// formulation of `fast_read`, bit-identical to the reference loop.
pub fn read_raw_with(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
    eff: &[f32],
) -> (Vec<f64>, Counters) {
    let plan = checked_plan(layer, dir, inp, cfg, knobs, eff);
    match plan {
        Some(plan) => plan.run(inp.batch, None),
        None => read_raw_reference(layer, dir, inp, cfg, knobs),
    }
}

/// Raw read: `[batch][outs]` in levels x input codes (an integer on an ideal array with the
/// `unit` ADC: sum over lines of weight code x input code), and the counters.
pub fn read_raw(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> (Vec<f64>, Counters) {
    read_raw_with(layer, dir, inp, cfg, knobs, &packed(layer, dir, cfg, knobs))
}

/// Read in weight x activation units with the effective conductances `eff`.
pub fn read_with(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
    eff: &[f32],
) -> (Vec<f32>, Counters) {
    let (raw, counters) = read_raw_with(layer, dir, inp, cfg, knobs, eff);
    (scaled(layer, dir, inp, cfg, raw), counters)
}

/// `raw` in weight x activation units, in a kept output buffer; `raw` is kept for later reads.
pub(super) fn scaled(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    raw: Vec<f64>,
) -> Vec<f32> {
    let f = descale(layer, dir, inp.x_max, cfg);
    let mut out = fast_read::output_buffer(raw.len());
    out.iter_mut()
        .zip(&raw)
        .for_each(|(o, &r)| *o = (r * f) as f32);
    fast_read::recycle_raw(raw);
    out
}

/// Read in weight x activation units: `[batch][outs]`.
pub fn read(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> (Vec<f32>, Counters) {
    read_with(layer, dir, inp, cfg, knobs, &packed(layer, dir, cfg, knobs))
}

/// Forward read y = W x of non-negative inputs `[batch][in]` -> `[batch][out]`; negative inputs
/// count as 0 (use [`read`] with `signed` for signed activations).
pub fn read_forward(
    layer: &LayerCells,
    x: &[f32],
    batch: usize,
    x_max: f32,
    cfg: &Xbar,
    knobs: &Knobs,
    read_counter: u32,
) -> (Vec<f32>, Counters) {
    let inp = ReadInput::new(x, batch, x_max).counter(read_counter);
    read(layer, Direction::Forward, &inp, cfg, knobs)
}

/// Transposed read W^T e of signed errors `[batch][out]` -> `[batch][in]`, with `error_bits`
/// and `adc_bits_backward`; `e_max` is the error range.
pub fn read_transposed(
    layer: &LayerCells,
    e: &[f32],
    batch: usize,
    e_max: f32,
    cfg: &Xbar,
    knobs: &Knobs,
    read_counter: u32,
) -> (Vec<f32>, Counters) {
    let inp = ReadInput::new(e, batch, e_max)
        .signed(true)
        .counter(read_counter);
    read(layer, Direction::Transposed, &inp, cfg, knobs)
}
