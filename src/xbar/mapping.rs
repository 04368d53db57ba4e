//! Weights to cells (docs/crossbar.md, "Mapping and storage").
//!
//! Per layer a scale s maps weights into [-1, 1]; M = 2^b_w - 1.
//! - `offset`: X = round(M (w/s + 1) / 2) in [0, M]. The mid value M/2 is subtracted with two
//!   reference lines per slice holding lo_k = floor(m_k / 2) and hi_k = m_k - lo_k levels
//!   (m_k = the largest level slice k can hold), so lo + hi = M in every slice and
//!   2X - (lo + hi) = 2X - M is exact in integers; the integer weight code is 2X - M (odd).
//! - `differential`: X+ = round(M max(w/s, 0)), X- = round(M max(-w/s, 0)) in two cell sets; the
//!   integer weight code is X+ - X-.
//!
//! Either way the weight is w_q = s * code / M.
//!
//! Bit slicing: slice k holds r_k = (X >> (c k)) & (2^c - 1); level r has normalised conductance
//! g = g_min + r (1 - g_min) / (2^c - 1), g = G / G_max, g_min = 1 / on_off.
//!
//! Storage (f32, normalised conductance), with K = fan-in (rows, index i), N = fan-out (columns,
//! index j), S = slices:
//! - `cells`: `[set][j][i][k]`, set 0 = X (offset) or X+ (differential), set 1 = X-; cell index
//!   `((set * N + j) * K + i) * S + k`.
//! - `ref_fwd` (offset only): reference columns of the forward read, `[i][k][h]`, h = 0 lo, 1 hi;
//!   cell index `R1 + (i * S + k) * 2 + h`, R1 = sets * N * K * S.
//! - `ref_bwd` (offset only): reference rows of the transposed read, `[j][k][h]`; cell index
//!   `R2 + (j * S + k) * 2 + h`, R2 = R1 + 2 K S.
//!
//! The cell index keys the frozen draws (d2d, stuck, NL d2d) and the per-read noise.

use rayon::prelude::*;

use crate::config::{ConfigError, Mapping};
use crate::rng::Purpose;

use super::adc_range::AdcRange;
use super::device::{g_after_ltp, ltp_pulses_at, CellCurve};
use super::direction::Direction;
use super::draws::{normal2_at, normal_at, stream_key};
use super::knobs::Knobs;
use crate::config::Xbar;

/// One layer of one instance on crossbars.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCells {
    pub fan_in: usize,
    pub fan_out: usize,
    pub weight_bits: u32,
    pub cell_bits: u32,
    pub slices: usize,
    pub mapping: Mapping,
    /// Per-layer weight scale s: |w| = s maps to full scale.
    pub scale: f32,
    /// G_min / G_max.
    pub g_min: f32,
    pub instance: u32,
    pub layer: u32,
    /// `[set][out][in][slice]`, normalised conductance.
    pub cells: Vec<f32>,
    /// `[in][slice][lo, hi]`, offset mapping only.
    pub ref_fwd: Vec<f32>,
    /// `[out][slice][lo, hi]`, offset mapping only.
    pub ref_bwd: Vec<f32>,
    /// ADC range top (level units) of the forward read in `calibrated` mode, once calibrated.
    pub adc_range_fwd: Option<f32>,
    /// Same for the transposed read.
    pub adc_range_bwd: Option<f32>,
    /// ADC range bottom (levels, the current of code 0) of the forward read; 0 for ranges that
    /// start at zero.
    pub adc_lo_fwd: f32,
    /// Same for the transposed read.
    pub adc_lo_bwd: f32,
    /// Global drift compensation: ADC gain factor sum G(t0) / sum G(t) from a calibration read
    /// (`drift_compensation::calibrate_gain`); 1 without compensation.
    pub drift_gain: f32,
}

impl LayerCells {
    /// The calibrated ADC range of a read direction, if any.
    pub fn adc_range(&self, dir: Direction) -> Option<AdcRange> {
        match dir {
            Direction::Forward => self.adc_range_fwd.map(|hi| AdcRange {
                lo: self.adc_lo_fwd,
                hi,
            }),
            Direction::Transposed => self.adc_range_bwd.map(|hi| AdcRange {
                lo: self.adc_lo_bwd,
                hi,
            }),
        }
    }

    /// Sets (or clears) the calibrated ADC range of a read direction.
    pub fn set_adc_range(&mut self, dir: Direction, r: Option<AdcRange>) {
        let (hi, lo) = match dir {
            Direction::Forward => (&mut self.adc_range_fwd, &mut self.adc_lo_fwd),
            Direction::Transposed => (&mut self.adc_range_bwd, &mut self.adc_lo_bwd),
        };
        *hi = r.map(|r| r.hi);
        *lo = r.map_or(0.0, |r| r.lo);
    }

    /// Cell sets: 1 (offset) or 2 (differential).
    pub fn sets(&self) -> usize {
        match self.mapping {
            Mapping::Offset => 1,
            Mapping::Differential => 2,
        }
    }

    /// M = 2^b_w - 1.
    pub fn max_code(&self) -> u32 {
        (1u32 << self.weight_bits) - 1
    }

    /// Normalised conductance of one level step, (1 - g_min) / (2^c - 1).
    pub fn unit(&self) -> f32 {
        (1.0 - self.g_min) / ((1u32 << self.cell_bits) - 1) as f32
    }

    /// Index of a data cell.
    #[inline]
    pub fn cell_index(&self, set: usize, j: usize, i: usize, k: usize) -> usize {
        ((set * self.fan_out + j) * self.fan_in + i) * self.slices + k
    }

    /// Start of the forward reference cells in the cell-index space.
    pub fn ref_fwd_base(&self) -> usize {
        self.cells.len()
    }

    /// Start of the transposed reference cells in the cell-index space.
    pub fn ref_bwd_base(&self) -> usize {
        self.cells.len() + self.ref_fwd.len()
    }

    /// Cells in the cell-index space (data and reference).
    pub fn total_cells(&self) -> usize {
        self.cells.len() + self.ref_fwd.len() + self.ref_bwd.len()
    }

    /// The stored conductance of cell `idx` of the cell-index space: data cells, then the
    /// forward and the transposed reference cells.
    #[inline]
    pub fn stored(&self, idx: usize) -> f32 {
        let (r1, r2) = (self.ref_fwd_base(), self.ref_bwd_base());
        if idx < r1 {
            self.cells[idx]
        } else if idx < r2 {
            self.ref_fwd[idx - r1]
        } else {
            self.ref_bwd[idx - r2]
        }
    }

    /// Nominal weights `[out][in]` decoded from the stored conductances (no d2d, stuck, drift or
    /// noise): level l = (g - g_min) / unit, X = sum_k l_k 2^(c k), w = s code(X) / M.
    pub fn decode_weights(&self) -> Vec<f32> {
        let (n, kk, s) = (self.fan_out, self.fan_in, self.slices);
        let unit = self.unit();
        let m = self.max_code() as f32;
        let level_sum = |set: usize, j: usize, i: usize| -> f32 {
            (0..s)
                .map(|k| {
                    let g = self.cells[self.cell_index(set, j, i, k)];
                    (g - self.g_min) / unit * (1u32 << (self.cell_bits as usize * k)) as f32
                })
                .sum()
        };
        let mut w = Vec::with_capacity(n * kk);
        for j in 0..n {
            for i in 0..kk {
                let code = match self.mapping {
                    Mapping::Offset => 2.0 * level_sum(0, j, i) - m,
                    Mapping::Differential => level_sum(0, j, i) - level_sum(1, j, i),
                };
                w.push(self.scale * code / m);
            }
        }
        w
    }
}

/// Integer weight code of one weight (see module doc): offset 2X - M, differential X+ - X-.
/// Returns the per-set unsigned codes too: (code, X or X+, X-).
pub fn weight_code(w: f32, scale: f32, weight_bits: u32, mapping: Mapping) -> (i64, u32, u32) {
    let m = ((1u32 << weight_bits) - 1) as f32;
    let v = (w / scale).clamp(-1.0, 1.0);
    match mapping {
        Mapping::Offset => {
            let x = (m * (v + 1.0) * 0.5 + 0.5).floor() as u32;
            (2 * x as i64 - m as i64, x, 0)
        }
        Mapping::Differential => {
            let p = (m * v.max(0.0) + 0.5).floor() as u32;
            let q = (m * (-v).max(0.0) + 0.5).floor() as u32;
            (p as i64 - q as i64, p, q)
        }
    }
}

/// Scale for a layer: the given one, or max |w| (1 for an all-zero layer).
pub fn layer_scale(w: &[f32], scale: Option<f32>) -> f32 {
    scale.unwrap_or_else(|| {
        let m = w.iter().fold(0f32, |a, &v| a.max(v.abs()));
        if m > 0.0 {
            m
        } else {
            1.0
        }
    })
}

fn empty_layer(
    fan_out: usize,
    fan_in: usize,
    scale: f32,
    cfg: &Xbar,
    instance: u32,
    layer: u32,
) -> LayerCells {
    let a = &cfg.array;
    let slices = a.slices() as usize;
    let mut l = LayerCells {
        fan_in,
        fan_out,
        weight_bits: a.weight_bits,
        cell_bits: a.cell_bits,
        slices,
        mapping: a.mapping,
        scale,
        g_min: (1.0 / cfg.device.on_off) as f32,
        instance,
        layer,
        cells: Vec::new(),
        ref_fwd: Vec::new(),
        ref_bwd: Vec::new(),
        adc_range_fwd: None,
        adc_range_bwd: None,
        adc_lo_fwd: 0.0,
        adc_lo_bwd: 0.0,
        drift_gain: 1.0,
    };
    l.cells = vec![l.g_min; l.sets() * fan_out * fan_in * slices];
    if a.mapping == Mapping::Offset {
        let unit = l.unit();
        let m = l.max_code();
        let c = a.cell_bits as usize;
        let mut per_slice = Vec::with_capacity(2 * slices);
        for k in 0..slices {
            let mk = (m >> (c * k)) & ((1u32 << c) - 1);
            let lo = mk / 2;
            per_slice.push(l.g_min + lo as f32 * unit);
            per_slice.push(l.g_min + (mk - lo) as f32 * unit);
        }
        l.ref_fwd = per_slice.repeat(fan_in);
        l.ref_bwd = per_slice.repeat(fan_out);
    }
    l
}

/// Inference mapping: weights `[out][in]` quantized to `weight_bits`, sliced into cells of
/// `cell_bits` each. `scale`: `None` = max |w|.
pub fn map_weights(
    w: &[f32],
    fan_out: usize,
    fan_in: usize,
    scale: Option<f32>,
    cfg: &Xbar,
    instance: u32,
    layer: u32,
) -> LayerCells {
    assert_eq!(
        w.len(),
        fan_out * fan_in,
        "weights must be fan_out x fan_in"
    );
    let s = layer_scale(w, scale);
    let mut l = empty_layer(fan_out, fan_in, s, cfg, instance, layer);
    let c = l.cell_bits as usize;
    let mask = (1u32 << c) - 1;
    let unit = l.unit();
    for j in 0..fan_out {
        for i in 0..fan_in {
            let (_, xp, xn) = weight_code(w[j * fan_in + i], s, l.weight_bits, l.mapping);
            for (set, x) in [xp, xn].into_iter().take(l.sets()).enumerate() {
                for k in 0..l.slices {
                    let r = (x >> (c * k)) & mask;
                    let idx = l.cell_index(set, j, i, k);
                    l.cells[idx] = l.g_min + r as f32 * unit;
                }
            }
        }
    }
    l
}

/// Frozen per-cell update curve: the nominal curve with A varied by `nl_d2d` (draw `NlD2d`).
pub fn cell_curve(base: &CellCurve, knobs: &Knobs, key_nl: [u32; 2], cell: usize) -> CellCurve {
    let mut c = *base;
    if knobs.nl_d2d != 0.0 {
        let (z_ltp, z_ltd) = normal2_at(key_nl, [cell as u32, 0, 0, 0]);
        c = c.with_nl_d2d(knobs.nl_d2d, z_ltp, z_ltd);
    }
    if knobs.up_down_d2d != 0.0 || knobs.bounds_d2d != 0.0 {
        let (z_ud, z_max) = normal2_at(key_nl, [cell as u32, 1, 0, 0]);
        let z_min = normal_at(key_nl, [cell as u32, 2, 0, 0]);
        c = c.with_spread(knobs.up_down_d2d, knobs.bounds_d2d, [z_ud, z_max, z_min]);
    }
    c
}

/// The nominal update curve of an instance.
pub fn nominal_curve(cfg: &Xbar, knobs: &Knobs) -> CellCurve {
    CellCurve::nominal(
        cfg.device.levels,
        cfg.device.on_off,
        knobs.nl_ltp as f64,
        knobs.nl_ltd as f64,
    )
}

/// In-situ training mapping: one analog cell per weight (needs `slices == 1`), weights in
/// [-scale, scale]. Each cell is programmed from G_min with the potentiation pulse count (an
/// integer in [0, P_max]) whose conductance is nearest the target, on the cell's own curve.
/// Offset target: y = (w/s + 1) / 2, reference at mid conductance (levels lo/hi around M/2).
/// Differential target: y+ = (1 + w/s) / 2 and y- = (1 - w/s) / 2, so both cells start near the
/// middle and w = s (y+ - y-).
#[allow(clippy::too_many_arguments)]
pub fn map_for_training(
    w: &[f32],
    fan_out: usize,
    fan_in: usize,
    scale: f32,
    cfg: &Xbar,
    knobs: &Knobs,
    instance: u32,
    layer: u32,
) -> Result<LayerCells, ConfigError> {
    cfg.validate(true)?;
    assert_eq!(
        w.len(),
        fan_out * fan_in,
        "weights must be fan_out x fan_in"
    );
    let mut l = empty_layer(fan_out, fan_in, scale, cfg, instance, layer);
    let base = nominal_curve(cfg, knobs);
    let key_nl = stream_key(knobs.seed, Purpose::NlD2d, instance, layer);
    let range = 1.0 - l.g_min;
    let (g_min, mapping, slices) = (l.g_min, l.mapping, l.slices);
    // Rows of cells (set, output) in parallel: each cell's value depends on its index only.
    let n = l.sets() * fan_out * fan_in * slices;
    l.cells[..n]
        .par_chunks_mut((fan_in * slices).max(1))
        .enumerate()
        .for_each(|(r, row)| {
            let (set, j) = (r / fan_out, r % fan_out);
            for i in 0..fan_in {
                let v = (w[j * fan_in + i] / scale).clamp(-1.0, 1.0);
                let y = match (mapping, set) {
                    (Mapping::Offset, _) | (Mapping::Differential, 0) => (v + 1.0) * 0.5,
                    (Mapping::Differential, _) => (1.0 - v) * 0.5,
                };
                // `cell_index(set, j, i, 0)`
                let idx = (r * fan_in + i) * slices;
                let c = cell_curve(&base, knobs, key_nl, idx);
                let target = g_min + y * range;
                let p = ltp_pulses_at(target, &c);
                let (lo, hi) = (p.floor(), (p.floor() + 1.0).min(c.p_max));
                let (g_lo, g_hi) = (g_after_ltp(lo, &c), g_after_ltp(hi, &c));
                row[i * slices] = if (g_hi - target).abs() < (target - g_lo).abs() {
                    g_hi
                } else {
                    g_lo
                };
            }
        });
    Ok(l)
}
