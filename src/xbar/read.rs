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

use std::ops::AddAssign;

use crate::config::{AdcMode, Mapping, ReadNoiseModel};
use crate::rng::Purpose;

pub use super::adc::adc_step;
use super::adc::{percentile_range, Adc, AdcRange};
use super::draws::{normal_at, stream_key, tag, uniform_at};
use super::drift;
use super::effective::{pack, Frozen};
use super::fast_read::{Plan, Seen};
use super::mapping::LayerCells;
use super::minmax;
use super::percentile;
use super::{Knobs, Xbar};

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
    (qmax * (x / x_max).clamp(0.0, 1.0) + 0.5).floor() as u32
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

/// Effective conductances `[col][k][line]` and their cell indices, for one call: stuck cells,
/// drift and frozen d2d applied.
pub(super) fn effective(
    layer: &LayerCells,
    dir: Direction,
    geo: &Geometry,
    cfg: &Xbar,
    knobs: &Knobs,
) -> (Vec<f32>, Vec<u32>) {
    let dev = &cfg.device;
    let s = layer.slices;
    let per_cell_drift = drift::active(&dev.drift) && !drift::uniform(&dev.drift);
    let key_drift = stream_key(knobs.seed, Purpose::Drift, layer.instance, layer.layer);
    let (stuck_off, stuck_any) = (dev.stuck_off as f32, (dev.stuck_off + dev.stuck_on) as f32);
    let key_d2d = stream_key(knobs.seed, Purpose::D2d, layer.instance, layer.layer);
    let key_stuck = stream_key(knobs.seed, Purpose::Stuck, layer.instance, layer.layer);
    let (r1, r2) = (layer.ref_fwd_base(), layer.ref_bwd_base());
    let stored = |idx: usize| -> f32 {
        if idx < r1 {
            layer.cells[idx]
        } else if idx < r2 {
            layer.ref_fwd[idx - r1]
        } else {
            layer.ref_bwd[idx - r2]
        }
    };
    let len = geo.ncol * s * geo.lines;
    let (mut eff, mut index) = (Vec::with_capacity(len), Vec::with_capacity(len));
    for c in 0..geo.ncol {
        for k in 0..s {
            for l in 0..geo.lines {
                let idx = cell_id(layer, dir, c, k, l);
                let ctr = [idx as u32, 0, 0, 0];
                let mut g = stored(idx);
                if stuck_any > 0.0 {
                    let u = uniform_at(key_stuck, ctr);
                    if u < stuck_off {
                        g = layer.g_min;
                    } else if u < stuck_any {
                        g = 1.0;
                    }
                }
                let z = if per_cell_drift {
                    normal_at(key_drift, ctr)
                } else {
                    0.0
                };
                g *= drift::factor(g, layer.g_min, z, &dev.drift);
                if knobs.d2d > 0.0 {
                    g *= (1.0 + knobs.d2d * normal_at(key_d2d, ctr)).max(0.0);
                }
                eff.push(g);
                index.push(idx as u32);
            }
        }
    }
    (eff, index)
}

/// The read, before de-scaling: raw `[batch][outs]` in levels x input codes, and the counters.
/// `signed`: negative inputs are read in a second pass and subtracted (else they count as 0).
/// `collect`: receives |I| in levels of every data-column conversion (calibration).
#[allow(clippy::too_many_arguments)]
fn read_core(
    layer: &LayerCells,
    dir: Direction,
    x: &[f32],
    batch: usize,
    x_max: f32,
    signed: bool,
    cfg: &Xbar,
    knobs: &Knobs,
    read_counter: u32,
    mut collect: Option<&mut Vec<f32>>,
) -> (Vec<f64>, Counters) {
    let knobs = &Knobs {
        read_noise: drift::read_noise_at(knobs.read_noise, &cfg.device.drift),
        ..*knobs
    };
    let geo = geometry(layer, dir, cfg);
    assert_eq!(
        x.len(),
        batch * geo.lines,
        "input must be batch x {}",
        geo.lines
    );
    assert!(
        x_max > 0.0 && x_max.is_finite(),
        "x_max must be positive, got {x_max}"
    );
    let (eff, index) = effective(layer, dir, &geo, cfg, knobs);
    let adc = Adc::new(layer, dir, cfg);
    let step = adc.step;
    let inv_unit = 1.0 / layer.unit();
    let transposed = dir == Direction::Transposed;
    let out_ref = cfg.device.read_noise_model == ReadNoiseModel::OutputReferred;
    let key_read = stream_key(knobs.seed, Purpose::ReadNoise, layer.instance, layer.layer);
    let key_out = stream_key(
        knobs.seed,
        Purpose::OutputNoise,
        layer.instance,
        layer.layer,
    );
    let (outs, lines, s, t_n) = (geo.outs, geo.lines, geo.slices, geo.cycles);
    let n_data = layer.sets() * outs;
    let d = geo.dac_bits as usize;
    let digit_mask = (1u32 << d) - 1;
    let c_bits = layer.cell_bits as usize;

    let mut raw = vec![0f64; batch * outs];
    let mut counters = Counters::default();
    let mut q = vec![0u32; lines];
    let mut digits = vec![0u32; t_n * geo.pass];
    let mut codes = vec![0i64; geo.ncol];
    let mut acc = vec![0i64; outs];
    // `minmax`: a first pass observes every tensor's [lo, hi], the second converts.
    let minmax = cfg.array.adc_mode == AdcMode::MinMax;
    let signs = 1 + signed as usize;
    let mut observed = minmax::empty(if minmax {
        minmax::tensors(&geo, signs)
    } else {
        0
    });
    let mut ranges = Vec::new();
    let mut vals = vec![0f64; if minmax { geo.ncol } else { 0 }];
    let mut accf = vec![0f64; if minmax { outs } else { 0 }];
    for phase in 0..1 + minmax as usize {
        let observing = minmax && phase == 0;
        if minmax && phase == 1 {
            ranges = observed
                .iter()
                .map(|&r| minmax::Range::new(r, geo.adc_bits))
                .collect::<Vec<_>>();
        }
        for b in 0..batch {
            let xb = &x[b * lines..(b + 1) * lines];
            for sign in 0..1 + signed as usize {
                let negative = sign == 1;
                for (qi, &v) in q.iter_mut().zip(xb) {
                    *qi = input_code(if negative { -v } else { v }, x_max, geo.in_bits);
                }
                acc.fill(0);
                accf.fill(0.0);
                for g in 0..geo.n_groups {
                    let g_end = ((g + 1) * geo.group).min(lines);
                    for p in 0..geo.n_pass {
                        let lo = g * geo.group + p * geo.pass;
                        let hi = (lo + geo.pass).min(g_end);
                        if lo >= hi {
                            continue;
                        }
                        let width = hi - lo;
                        for t in 0..t_n {
                            let dt = &mut digits[t * geo.pass..t * geo.pass + width];
                            for (dl, &ql) in dt.iter_mut().zip(&q[lo..hi]) {
                                *dl = (ql >> (d * t)) & digit_mask;
                            }
                            if !observing {
                                counters.active_rows +=
                                    dt.iter().filter(|&&v| v != 0).count() as u64;
                            }
                        }
                        for k in 0..s {
                            for t in 0..t_n {
                                let dt = &digits[t * geo.pass..t * geo.pass + width];
                                let tg = tag(t as u32, negative, transposed);
                                for (c, code) in codes.iter_mut().enumerate() {
                                    let base = (c * s + k) * lines + lo;
                                    let gs = &eff[base..base + width];
                                    let mut i_sum = 0f32;
                                    if knobs.read_noise > 0.0 && !out_ref {
                                        let ids = &index[base..base + width];
                                        for l in 0..width {
                                            if dt[l] != 0 {
                                                let z = normal_at(
                                                    key_read,
                                                    [ids[l], read_counter, tg, b as u32],
                                                );
                                                i_sum += dt[l] as f32
                                                    * gs[l]
                                                    * (1.0 + knobs.read_noise * z);
                                            }
                                        }
                                    } else {
                                        for l in 0..width {
                                            i_sum += dt[l] as f32 * gs[l];
                                        }
                                    }
                                    if knobs.read_noise > 0.0 && out_ref {
                                        let conv = ((g * geo.n_pass + p) * s + k) * geo.ncol + c;
                                        i_sum += output_referred(
                                            dt.iter().zip(gs).map(|(&d, &g)| d as f32 * g),
                                            knobs.read_noise,
                                            normal_at(
                                                key_read,
                                                [conv as u32, read_counter, tg | OUT_REF, b as u32],
                                            ),
                                        );
                                    }
                                    let tensor =
                                        minmax::tensor(&geo, sign, g, p, k, t, c >= n_data);
                                    if observing {
                                        minmax::observe(&mut observed[tensor], i_sum);
                                        continue;
                                    }
                                    if c < n_data {
                                        if let Some(v) = collect.as_deref_mut() {
                                            v.push((i_sum * inv_unit).abs());
                                        }
                                    }
                                    let mut noise = 0.0;
                                    if knobs.output_noise > 0.0 {
                                        let conv = ((g * geo.n_pass + p) * s + k) * geo.ncol + c;
                                        noise = knobs.output_noise
                                            * normal_at(
                                                key_out,
                                                [conv as u32, read_counter, tg, b as u32],
                                            );
                                    }
                                    if minmax {
                                        let r = &ranges[tensor];
                                        let (index, clipped) = r.index(i_sum, noise);
                                        counters.adc_clipped += clipped as u64;
                                        vals[c] = r.value(index);
                                        continue;
                                    }
                                    let (cd, clipped) = adc.quantize(adc.value(i_sum) + noise);
                                    counters.adc_clipped += clipped as u64;
                                    *code = cd;
                                }
                                if observing {
                                    continue;
                                }
                                counters.adc_conversions += geo.ncol as u64;
                                let shift = c_bits * k + d * t;
                                if minmax {
                                    minmax_shift_add(&mut accf, &vals, layer.mapping, shift);
                                    continue;
                                }
                                match layer.mapping {
                                    Mapping::Offset => {
                                        let r = codes[outs] + codes[outs + 1];
                                        for (a, &cd) in acc.iter_mut().zip(&codes[..outs]) {
                                            *a += (2 * cd - r) << shift;
                                        }
                                    }
                                    Mapping::Differential => {
                                        for (o, a) in acc.iter_mut().enumerate() {
                                            *a += (codes[o] - codes[outs + o]) << shift;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if observing {
                    continue;
                }
                let row = &mut raw[b * outs..(b + 1) * outs];
                if minmax {
                    let f = minmax_scale(layer, negative);
                    for (r, &a) in row.iter_mut().zip(&accf) {
                        *r += f * a;
                    }
                    continue;
                }
                let sgn = if negative {
                    -(step as f64)
                } else {
                    step as f64
                };
                for (r, &a) in row.iter_mut().zip(&acc) {
                    *r += sgn * a as f64;
                }
            }
        }
    }
    (raw, counters)
}

/// Tag bit of output-referred read-noise draws (`[conversion, read_counter, tag | OUT_REF, b]`
/// under the `ReadNoise` key), apart from the per-cell draws.
pub const OUT_REF: u32 = 1 << 18;

/// Output-referred read noise of one conversion: read_noise sqrt(sum (q g)^2) z, the standard
/// deviation the per-cell model gives the same sum; `terms` are the q g in line order (f32).
#[inline]
pub fn output_referred(terms: impl Iterator<Item = f32>, read_noise: f32, z: f32) -> f32 {
    let mut s2 = 0f32;
    for v in terms {
        s2 += v * v;
    }
    read_noise * s2.sqrt() * z
}

/// `minmax` shift-add of one (slice, cycle): acc_o += (2 v_o - (v_lo + v_hi)) 2^shift (offset)
/// or (v_o+ - v_o-) 2^shift (differential), f64, in the reference's order.
#[inline]
pub(super) fn minmax_shift_add(acc: &mut [f64], vals: &[f64], mapping: Mapping, shift: usize) {
    let outs = acc.len();
    let sc = (1u64 << shift) as f64;
    match mapping {
        Mapping::Offset => {
            let r = vals[outs] + vals[outs + 1];
            for (a, &v) in acc.iter_mut().zip(&vals[..outs]) {
                *a += (2.0 * v - r) * sc;
            }
        }
        Mapping::Differential => {
            for (o, a) in acc.iter_mut().enumerate() {
                *a += (vals[o] - vals[outs + o]) * sc;
            }
        }
    }
}

/// `minmax`: current to levels with the drift gain, negated for the negative sign pass.
#[inline]
pub(super) fn minmax_scale(layer: &LayerCells, negative: bool) -> f64 {
    let f = layer.drift_gain as f64 / layer.unit() as f64;
    if negative {
        -f
    } else {
        f
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

/// The GEMM plan of a read of `inp` (input checked first); `None` when the effective
/// conductances rule the fast path out.
fn checked_plan<'a>(
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

fn check_input(layer: &LayerCells, dir: Direction, cfg: &Xbar, inp: &ReadInput) {
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

/// The reference loop (the oracle of the fast path): raw read as `read_raw`.
pub fn read_raw_reference(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> (Vec<f64>, Counters) {
    check_input(layer, dir, cfg, inp);
    read_core(
        layer,
        dir,
        inp.x,
        inp.batch,
        inp.x_max,
        inp.signed,
        cfg,
        knobs,
        inp.read_counter,
        None,
    )
}

/// Raw read: `[batch][outs]` in levels x input codes (an integer on an ideal array with the
/// `unit` ADC: sum over lines of weight code x input code), and the counters.
#[allow(clippy::too_many_arguments)]
pub fn read_raw(
    layer: &LayerCells,
    dir: Direction,
    x: &[f32],
    batch: usize,
    x_max: f32,
    signed: bool,
    cfg: &Xbar,
    knobs: &Knobs,
    read_counter: u32,
) -> (Vec<f64>, Counters) {
    let inp = ReadInput {
        x,
        batch,
        x_max,
        signed,
        read_counter,
    };
    read_raw_with(
        layer,
        dir,
        &inp,
        cfg,
        knobs,
        &packed(layer, dir, cfg, knobs),
    )
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
    let f = descale(layer, dir, inp.x_max, cfg);
    (raw.iter().map(|&r| (r * f) as f32).collect(), counters)
}

/// Read in weight x activation units: `[batch][outs]`.
#[allow(clippy::too_many_arguments)]
pub fn read(
    layer: &LayerCells,
    dir: Direction,
    x: &[f32],
    batch: usize,
    x_max: f32,
    signed: bool,
    cfg: &Xbar,
    knobs: &Knobs,
    read_counter: u32,
) -> (Vec<f32>, Counters) {
    let inp = ReadInput {
        x,
        batch,
        x_max,
        signed,
        read_counter,
    };
    read_with(
        layer,
        dir,
        &inp,
        cfg,
        knobs,
        &packed(layer, dir, cfg, knobs),
    )
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
    read(
        layer,
        Direction::Forward,
        x,
        batch,
        x_max,
        false,
        cfg,
        knobs,
        read_counter,
    )
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
    read(
        layer,
        Direction::Transposed,
        e,
        batch,
        e_max,
        true,
        cfg,
        knobs,
        read_counter,
    )
}

/// Sets the `calibrated` ADC range of `dir` from a calibration batch: the (100 - p) and p
/// percentiles (p = `adc_percentile`) of |I| (levels) over all data-column conversions
/// (`adc::percentile_range`). Returns the range's top.
/// Exact up to `percentile::EXACT_LIMIT` conversions, within a relative 2^-13 above (see there).
#[allow(clippy::too_many_arguments)]
pub fn calibrate(
    layer: &mut LayerCells,
    dir: Direction,
    x: &[f32],
    batch: usize,
    x_max: f32,
    signed: bool,
    cfg: &Xbar,
    knobs: &Knobs,
    read_counter: u32,
) -> f32 {
    let inp = ReadInput {
        x,
        batch,
        x_max,
        signed,
        read_counter,
    };
    let eff = packed(layer, dir, cfg, knobs);
    calibrate_with(layer, dir, &inp, cfg, knobs, &eff)
}

/// `calibrate` with the effective conductances `eff`.
pub fn calibrate_with(
    layer: &mut LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
    eff: &[f32],
) -> f32 {
    let pct = cfg.array.adc_percentile;
    let plan = checked_plan(layer, dir, inp, cfg, knobs, eff);
    let range = match plan {
        Some(plan) => {
            let n = plan.data_conversions(inp.batch);
            let mut seen = Seen::default();
            if n > percentile::EXACT_LIMIT {
                seen.hist = vec![0; percentile::bins()];
            }
            plan.run(inp.batch, Some(&mut seen));
            // The (100 - p) and p percentiles, as `adc::percentile_range` takes them.
            let ranks = [100.0 - pct, pct];
            let [lo, hi] = if seen.count == 0 {
                None
            } else if seen.hist.is_empty() {
                let ids = &seen.ids;
                Some(ranks.map(|q| {
                    let r = percentile::rank(q, seen.values.len());
                    percentile::exact_rank(&seen.values, r, plan.relative_error(), |i| {
                        plan.exact_level(ids[i])
                    })
                }))
            } else {
                Some(ranks.map(|q| {
                    let r = percentile::rank(q, seen.count as usize);
                    percentile::from_histogram(&seen.hist, r as u64)
                }))
            }
            .unwrap_or([0.0, 1.0]);
            AdcRange {
                lo: lo.max(0.0),
                hi: hi.max(f32::MIN_POSITIVE),
            }
        }
        None => calibration_range_reference(layer, dir, inp, cfg, knobs),
    };
    layer.set_adc_range(dir, Some(range));
    range.hi
}

/// The reference calibration range (the oracle): the (100 - p) and p percentiles of every
/// data-column |I| of the reference loop, by sorting (`adc::percentile_range`).
pub fn calibration_range_reference(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> AdcRange {
    let mut seen = Vec::new();
    read_core(
        layer,
        dir,
        inp.x,
        inp.batch,
        inp.x_max,
        inp.signed,
        cfg,
        knobs,
        inp.read_counter,
        Some(&mut seen),
    );
    percentile_range(&mut seen, cfg.array.adc_percentile).unwrap_or(AdcRange { lo: 0.0, hi: 1.0 })
}
