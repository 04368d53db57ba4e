//! The quantized analog read, forward (y = W x) and transposed (e_in = W^T e_out): the reference
//! the fused GPU kernel is tested against (docs/crossbar.md, "Read").
//!
//! Lines, columns, groups and passes are those of `geometry`.
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
//! Files: this one holds the read's entry points, which run the GEMM formulation (`fast_read`);
//! `reference` is the plain per-conversion loop the fast path is tested against; `calibration`
//! sets the `calibrated` ADC range from one read. The parts they share lie below: the shape
//! (`geometry`), the input (`read_input`), the effective conductances (`effective`), the read
//! noise (`read_noise`), the ADC (`adc`, `minmax`) and the counters (`counters`).

mod calibration;
mod reference;

use super::counters::Counters;
use super::direction::Direction;
use super::effective::{pack, Frozen};
use super::fast_read::{self, Plan};
use super::geometry::descale;
use super::knobs::Knobs;
use super::mapping::LayerCells;
use super::read_input::check_input;
use super::read_input::ReadInput;
use crate::config::Xbar;

pub use calibration::{
    calibrate, calibrate_read_with, calibrate_with, calibration_range_reference,
};
pub use reference::read_raw_reference;

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
