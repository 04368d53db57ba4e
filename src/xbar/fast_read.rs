//! The read of `read.rs` as GEMMs with an ADC epilogue.
//!
//! Per row group and pass (one ADC partial sum), the partial sums of every
//! (sample, sign pass, input cycle) and every (column, slice) are one product C = D G:
//! D `[M = samples x signs x cycles][K = the pass's lines]` holds the input digits,
//! G `[K][N = columns x slices]` the effective conductances. The epilogue quantizes each sum
//! with the ADC, shift-adds across cycles and slices and subtracts the reference (offset) or
//! negative set (differential), as `read.rs` states; products run on the packed panels of
//! `panels` where the CPU has AVX-512, else on `sgemm::sgemm` / `matrixmultiply` (the same
//! values), epilogues on `rayon` across samples.
//!
//! Exactness: the reference adds each partial sum in f32 in increasing line order, the GEMM in
//! another order. With non-negative conductances every term is >= 0, so both lie within
//! gamma_n I (n lines with a nonzero digit: a zero digit's term is an exact +0 in both sums;
//! gamma_n ~ n 2^-24) of the exact sum I. The ADC code is a monotone
//! function of the sum: where it is equal at both ends of the interval it is the reference's
//! code; otherwise (a rounding boundary inside the interval, rare) the sum is recomputed in the
//! reference order. Codes, counters and outputs are bit-identical to the reference, with or
//! without output noise. With read noise every term carries its own draw: those sums are taken
//! term by term in the reference order (no GEMM), bit-identical too.
//!
//! Files: this one holds the plan and the product loop; `panels` the product kernel on
//! conductances packed once per read; `epilogue` the ADC quantization and
//! shift-add after each product (SIMD where the CPU has it); `minmax_read` the `minmax` ADC
//! mode, whose per-tensor ranges need every sum before any conversion; `calibrated_read` the
//! calibrating read that keeps its products for the epilogue after the calibration.

mod blocks;
mod calibrated_read;
mod epilogue;
mod minmax_read;
mod panels;
mod pool;

pub use panels::{available as panels_available, Panels, KC};
pub use pool::{output_buffer, recycle_output, recycle_raw};

use multiversion::multiversion;
use rayon::prelude::*;

use crate::config::{AdcMode, ReadNoiseModel};
use crate::rng::Purpose;

use super::adc::Adc;
use super::counters::Counters;
use super::direction::Direction;
use super::draws::{normal_at, stream_key, tag};
use super::drift;
use super::geometry::{cell_id, geometry, Geometry};
use super::knobs::Knobs;
use super::mapping::LayerCells;
use super::read_input::input_code;
use super::read_noise::{output_referred, OUT_REF};
use crate::config::Xbar;

/// Elements of one chunk's digit or product matrix (bounds the memory of a read).
const CHUNK_ELEMENTS: usize = 1 << 22;

/// Data-column partial sums seen by a read, for calibration: |I| in levels and an id from which
/// [`Plan::exact_level`] recomputes the reference's value; or, for large reads, only their
/// histogram (`percentile`).
#[derive(Debug, Default)]
pub struct Seen {
    pub values: Vec<f32>,
    pub ids: Vec<u64>,
    /// Non-empty: values are binned here instead of kept.
    pub hist: Vec<u64>,
    /// Values seen.
    pub count: u64,
}

impl Seen {
    fn merge(&mut self, o: Seen) {
        self.count += o.values.len() as u64;
        if self.hist.is_empty() {
            self.values.extend_from_slice(&o.values);
            self.ids.extend_from_slice(&o.ids);
        } else {
            for &v in &o.values {
                self.hist[super::percentile::bin(v)] += 1;
            }
        }
    }
}

/// Everything one read needs, fixed for the call.
pub struct Plan<'a> {
    layer: &'a LayerCells,
    dir: Direction,
    geo: Geometry,
    x: &'a [f32],
    x_max: f32,
    signs: usize,
    eff: &'a [f32],
    /// Columns x slices.
    np: usize,
    n_data: usize,
    /// The ADC of the read ([lo, hi] range, drift gain).
    adc: Adc,
    inv_unit: f32,
    /// The caller's knobs with the read noise at the drift's read time.
    knobs: Knobs,
    key_read: [u32; 2],
    key_out: [u32; 2],
    read_counter: u32,
    /// Non-empty passes: (group, pass, first line, end line).
    passes: Vec<(usize, usize, usize, usize)>,
    /// `adc_mode = "minmax"`: per-tensor ranges, sums term by term ([`Plan::run_minmax`]).
    minmax: bool,
    /// Output-referred read noise (`read_noise::output_referred`), sums term by term.
    out_ref: bool,
    /// The conductances packed for the panel kernel (`Plan::pack_panels`); `None` inside:
    /// products on `matrixmultiply`.
    panels: std::sync::OnceLock<Option<Panels>>,
}

/// Non-empty passes: (group, pass, first line, end line).
fn passes(geo: &Geometry) -> Vec<(usize, usize, usize, usize)> {
    let mut v = Vec::new();
    for g in 0..geo.n_groups {
        let g_end = ((g + 1) * geo.group).min(geo.lines);
        for p in 0..geo.n_pass {
            let lo = g * geo.group + p * geo.pass;
            let hi = (lo + geo.pass).min(g_end);
            if lo < hi {
                v.push((g, p, lo, hi));
            }
        }
    }
    v
}

impl<'a> Plan<'a> {
    /// A read of `layer`; `eff` is `effective::pack` of it for `dir`. `None` when the fast path
    /// cannot guarantee the reference's result (a negative or non-finite conductance).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        layer: &'a LayerCells,
        dir: Direction,
        x: &'a [f32],
        x_max: f32,
        signed: bool,
        cfg: &Xbar,
        knobs: &'a Knobs,
        read_counter: u32,
        eff: &'a [f32],
    ) -> Option<Plan<'a>> {
        // Chunks checked without early exit, so the comparisons vectorize (NaN fails both).
        let usable = |c: &[f32]| {
            c.iter()
                .fold(true, |ok, &g| ok & (0.0..f32::INFINITY).contains(&g))
        };
        if !eff.par_chunks(1 << 14).all(usable) {
            return None;
        }
        let geo = geometry(layer, dir, cfg);
        if geo.adc_bits > 30 {
            return None; // codes are i32 in `quantize`
        }
        let adc = Adc::new(layer, dir, cfg);
        let knobs = Knobs {
            read_noise: drift::read_noise_at(knobs.read_noise, &cfg.device.drift),
            ..*knobs
        };
        Some(Plan {
            passes: passes(&geo),
            layer,
            dir,
            geo,
            x,
            x_max,
            signs: 1 + signed as usize,
            eff,
            np: geo.ncol * geo.slices,
            n_data: layer.sets() * geo.outs,
            adc,
            inv_unit: 1.0 / layer.unit(),
            knobs,
            key_read: stream_key(knobs.seed, Purpose::ReadNoise, layer.instance, layer.layer),
            key_out: stream_key(
                knobs.seed,
                Purpose::OutputNoise,
                layer.instance,
                layer.layer,
            ),
            read_counter,
            minmax: cfg.array.adc_mode == AdcMode::MinMax,
            out_ref: knobs.read_noise > 0.0
                && cfg.device.read_noise_model == ReadNoiseModel::OutputReferred,
            panels: std::sync::OnceLock::new(),
        })
    }

    /// Bound on |v - v_ref| / v of every partial sum v the GEMM gives (levels or current).
    pub fn relative_error(&self) -> f32 {
        let widest = self.passes.iter().map(|p| p.3 - p.2).max().unwrap_or(0);
        (2 * widest + 8) as f32 * f32::EPSILON * 0.5
    }

    /// Data-column conversions of a read of `batch` samples (the size of `Seen`).
    pub fn data_conversions(&self, batch: usize) -> u64 {
        (batch * self.signs * self.geo.cycles * self.passes.len() * self.n_data * self.geo.slices)
            as u64
    }

    /// Input digit of sample `b`, sign pass `sign`, cycle `t`, line `l`.
    #[inline]
    fn digit(&self, b: usize, sign: usize, t: usize, l: usize) -> u32 {
        let v = self.x[b * self.geo.lines + l];
        let q = input_code(if sign == 1 { -v } else { v }, self.x_max, self.geo.in_bits);
        let d = self.geo.dac_bits as usize;
        (q >> (d * t)) & ((1u32 << d) - 1)
    }

    /// Digits `[b][sign][t][line]` of samples b0..b1 as f32, and their nonzero count.
    fn digits(&self, b0: usize, b1: usize) -> (Vec<f32>, u64) {
        let (lines, t_n) = (self.geo.lines, self.geo.cycles);
        let per_b = self.signs * t_n * lines;
        let mut dig = vec![0f32; (b1 - b0) * per_b];
        let active = dig
            .par_chunks_mut(per_b)
            .enumerate()
            .map_init(
                || vec![0u32; lines],
                |codes, (i, rows)| {
                    let b = b0 + i;
                    let x = &self.x[b * lines..(b + 1) * lines];
                    digit_rows(x, self.x_max, self.signs, &self.geo, codes, rows)
                },
            )
            .sum();
        (dig, active)
    }

    /// The reference's partial sum of one conversion: digits `dt` of lines lo..hi, column-slice
    /// `j`, in increasing line order (with read noise, each term with its own draw).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn reference_sum(
        &self,
        dt: &[f32],
        lo: usize,
        j: usize,
        b: usize,
        tg: u32,
        g: usize,
        p: usize,
    ) -> f32 {
        let base = j * self.geo.lines + lo;
        let gs = &self.eff[base..base + dt.len()];
        let mut i_sum = 0f32;
        if self.out_ref {
            for (&d, &g) in dt.iter().zip(gs) {
                i_sum += d * g;
            }
            let (c, k) = (j / self.geo.slices, j % self.geo.slices);
            let conv = ((g * self.geo.n_pass + p) * self.geo.slices + k) * self.geo.ncol + c;
            let ctr = [conv as u32, self.read_counter, tg | OUT_REF, b as u32];
            let z = normal_at(self.key_read, ctr);
            i_sum += output_referred(
                dt.iter().zip(gs).map(|(&d, &g)| d * g),
                self.knobs.read_noise,
                z,
            );
        } else if self.knobs.read_noise > 0.0 {
            let (c, k) = (j / self.geo.slices, j % self.geo.slices);
            for (l, (&d, &g)) in dt.iter().zip(gs).enumerate() {
                if d != 0.0 {
                    let id = cell_id(self.layer, self.dir, c, k, lo + l) as u32;
                    let z = normal_at(self.key_read, [id, self.read_counter, tg, b as u32]);
                    i_sum += d * g * (1.0 + self.knobs.read_noise * z);
                }
            }
        } else {
            for (&d, &g) in dt.iter().zip(gs) {
                i_sum += d * g;
            }
        }
        i_sum
    }

    /// Output noise (LSBs) of one conversion.
    #[inline]
    fn out_noise(&self, g: usize, p: usize, j: usize, b: usize, tg: u32) -> f32 {
        if self.knobs.output_noise > 0.0 {
            let (c, k) = (j / self.geo.slices, j % self.geo.slices);
            let conv = ((g * self.geo.n_pass + p) * self.geo.slices + k) * self.geo.ncol + c;
            self.knobs.output_noise
                * normal_at(self.key_out, [conv as u32, self.read_counter, tg, b as u32])
        } else {
            0.0
        }
    }

    /// Id of a data conversion for [`Plan::exact_level`].
    fn conv_id(&self, b: usize, sign: usize, t: usize, gp: usize, j: usize) -> u64 {
        let n_gp = self.passes.len() as u64;
        ((((b * self.signs + sign) * self.geo.cycles + t) as u64 * n_gp + gp as u64)
            * self.np as u64)
            + j as u64
    }

    /// The reference's |I| in levels of the conversion `id` (see `conv_id`).
    pub fn exact_level(&self, id: u64) -> f32 {
        let passes = &self.passes;
        let np = self.np as u64;
        let j = (id % np) as usize;
        let rest = id / np;
        let gp = (rest % passes.len() as u64) as usize;
        let rest = (rest / passes.len() as u64) as usize;
        let t = rest % self.geo.cycles;
        let sign = (rest / self.geo.cycles) % self.signs;
        let b = rest / self.geo.cycles / self.signs;
        let (g, p, lo, hi) = passes[gp];
        let dt: Vec<f32> = (lo..hi).map(|l| self.digit(b, sign, t, l) as f32).collect();
        let tg = tag(t as u32, sign == 1, self.dir == Direction::Transposed);
        (self.reference_sum(&dt, lo, j, b, tg, g, p) * self.inv_unit).abs()
    }

    /// The product of one pass, lines `lo..hi`: `prod` (m x np) = the digits (m x lines,
    /// row-major) from column lo times the pass's conductances (`eff[j * lines + lo + l]`).
    fn pass_product(&self, dig: &[f32], m: usize, (lo, hi): (usize, usize), prod: &mut [f32]) {
        let lines = self.geo.lines;
        assert!(dig.len() >= m * lines && prod.len() >= m * self.np && hi <= lines);
        assert!(self.eff.len() >= self.np * lines);
        // SAFETY: the asserts above bound every element the strides reach.
        unsafe {
            crate::sgemm::sgemm(
                (m, hi - lo, self.np),
                1.0,
                (dig.as_ptr().add(lo), lines as isize, 1),
                (self.eff.as_ptr().add(lo), 1, lines as isize),
                0.0,
                (prod.as_mut_ptr(), self.np as isize, 1),
            );
        }
    }

    /// The read of samples `0..batch`: raw `[batch][outs]` and counters, as the reference.
    /// `seen` collects the data-column partial sums (calibration).
    pub fn run(&self, batch: usize, mut seen: Option<&mut Seen>) -> (Vec<f64>, Counters) {
        if self.minmax {
            return self.run_minmax(batch);
        }
        let geo = &self.geo;
        let outs = geo.outs;
        if seen.is_none() && batch > 0 && outs > 0 {
            return self.run_blocks(batch, None);
        }
        let passes = &self.passes;
        let collecting = seen.is_some();
        let exact_ids = seen.as_ref().is_some_and(|s| s.hist.is_empty());
        let rows_per_b = self.signs * geo.cycles;
        let widest = self.np.max(geo.lines) * rows_per_b;
        let chunk_b = (CHUNK_ELEMENTS / widest).clamp(1, batch.max(1));
        let mut raw = vec![0f64; batch * outs];
        let mut counters = Counters::default();
        let mut prod = Vec::new();
        for b0 in (0..batch).step_by(chunk_b) {
            let b1 = (b0 + chunk_b).min(batch);
            let (dig, active) = self.digits(b0, b1);
            counters.active_rows += active;
            let m = (b1 - b0) * rows_per_b;
            let mut acc = vec![0i64; (b1 - b0) * self.signs * outs];
            if self.knobs.read_noise == 0.0 {
                prod.resize(m * self.np, 0f32);
            }
            for (gp, &(g, p, lo, hi)) in passes.iter().enumerate() {
                if self.knobs.read_noise == 0.0 {
                    self.pass_product(&dig, m, (lo, hi), &mut prod);
                }
                let collect = collecting.then_some(exact_ids);
                let (c, s) =
                    self.epilogue_pass((gp, g, p, lo, hi), b0, &prod, &dig, &mut acc, collect);
                counters += c;
                if let (Some(all), Some(s)) = (seen.as_deref_mut(), s) {
                    all.merge(s);
                }
            }
            self.descale(b0, &acc, &mut raw);
        }
        (raw, counters)
    }
}

/// One sample's digits `[sign][t][line]` (as `Plan::digit`) into `rows`, and their nonzero
/// count; `codes` holds a line's input codes. Loops without branches that vectorize (AVX-512
/// or AVX2 picked at run time; the same operations, so the same digits).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn digit_rows(
    x: &[f32],
    x_max: f32,
    signs: usize,
    geo: &Geometry,
    codes: &mut [u32],
    rows: &mut [f32],
) -> u64 {
    let (lines, t_n) = (x.len(), geo.cycles);
    let d = geo.dac_bits as usize;
    let mask = (1u32 << d) - 1;
    let mut active = 0u64;
    for sign in 0..signs {
        let flip = if sign == 1 { -1.0 } else { 1.0 };
        for (q, &v) in codes.iter_mut().zip(x) {
            // `if sign == 1 { -v } else { v }`: multiplying by -1 is the same negation.
            *q = input_code(flip * v, x_max, geo.in_bits);
        }
        for t in 0..t_n {
            let row = &mut rows[(sign * t_n + t) * lines..(sign * t_n + t + 1) * lines];
            let mut n = 0u32;
            for (r, &q) in row.iter_mut().zip(codes.iter()) {
                let dg = (q >> (d * t)) & mask;
                *r = dg as f32;
                n += (dg != 0) as u32;
            }
            active += n as u64;
        }
    }
    active
}
