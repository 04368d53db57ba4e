//! The ADC of one partial-sum conversion, and how its range is set (docs/crossbar.md, "Read").
//!
//! A column current I (normalised conductance x input digit, f32) becomes a code by
//!
//!   v = (I - floor * unit) / (unit * step) + output_noise * z,
//!   code = clamp(floor(v + 0.5), 0, 2^b_a - 1),   clipped when floor(v + 0.5) is outside,
//!
//! with `unit` one level of normalised conductance, `step` the LSB in levels and `floor` (levels)
//! the current that maps to code 0. Per mode:
//! - `unit`: step 1, floor 0 (a counting ADC; saturates).
//! - `full`: step = pass (2^d - 1) ((2^c - 1) + g_min / unit) / (2^b_a - 1), floor 0 (the whole
//!   possible range of a pass; never clips).
//! - `calibrated`: from partial sums observed on a calibration batch, the low and high
//!   percentiles lo = P_(100 - p), hi = P_p (p = `adc_percentile`; `adc_range`):
//!   step = (hi - lo) / (2^b_a - 1), floor = lo. Spanning [lo, hi] instead of [0, hi] spends
//!   no codes on the G_min pedestal that every active row adds. Until calibrated, or when
//!   hi - lo is below one level (every partial sum equal, e.g. all-zero inputs at a zero
//!   initialisation), the `full` range is used.
//!
//! With global drift compensation the conversion gain carries the layer's `drift_gain`
//! (`drift_compensation`): inv_lsb = drift_gain / (unit * step).
//!
//! The floor is subtracted as a current before the one multiply, so that no backend can fuse
//! the two into a multiply-add: `I inv_lsb - floor / step` lands exactly on a rounding tie for
//! many integer sums, and a fused and an unfused evaluation then pick different codes.
//!
//! The floor cancels in the digital read-out: the offset mapping takes 2 code - code_lo - code_hi
//! and the differential one code+ - code-, so de-scaling stays `step * (shift-added codes)`.

use crate::config::AdcMode;

use super::direction::Direction;
use super::geometry::geometry;
use super::mapping::LayerCells;
use crate::config::Xbar;

/// The conversion of one read: LSB and floor, in the units the read accumulates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adc {
    /// LSB in levels.
    pub step: f32,
    /// 1 / (unit * step): current to LSBs.
    pub inv_lsb: f32,
    /// The floor as a current (floor unit / drift_gain): subtracted before the multiply.
    pub floor_i: f32,
    /// 2^b_a - 1.
    pub max_code: f32,
}

impl Adc {
    /// The ADC of a read of `layer` in direction `dir`.
    pub fn new(layer: &LayerCells, dir: Direction, cfg: &Xbar) -> Self {
        let geo = geometry(layer, dir, cfg);
        let max_code = ((1u64 << geo.adc_bits) - 1) as f32;
        let full = || {
            let levels = ((1u32 << layer.cell_bits) - 1) as f32;
            let digit = ((1u32 << geo.dac_bits) - 1) as f32;
            geo.pass as f32 * digit * (levels + layer.g_min / layer.unit()) / max_code
        };
        let (step, floor) = match cfg.array.adc_mode {
            // `minmax` sets its range per tensor (`minmax`); this unit step is unused.
            AdcMode::Unit | AdcMode::MinMax => (1.0, 0.0),
            AdcMode::Full => (full(), 0.0),
            AdcMode::Calibrated => match layer.adc_range(dir) {
                Some(r) if r.hi - r.lo >= 1.0 => ((r.hi - r.lo) / max_code, r.lo),
                _ => (full(), 0.0),
            },
        };
        Self {
            step,
            inv_lsb: layer.drift_gain / (layer.unit() * step),
            floor_i: floor * layer.unit() / layer.drift_gain,
            max_code,
        }
    }

    /// The value in LSBs of a column current, before output noise.
    #[inline]
    pub fn value(&self, i_sum: f32) -> f32 {
        (i_sum - self.floor_i) * self.inv_lsb
    }

    /// Code of a value in LSBs (noise included), and whether it clipped.
    #[inline]
    pub fn quantize(&self, v: f32) -> (i64, bool) {
        let r = super::device::floor(v + 0.5);
        (
            r.clamp(0.0, self.max_code) as i64,
            !(0.0..=self.max_code).contains(&r),
        )
    }
}

/// ADC LSB in levels (one level = one step of cell conductance times a unit digit).
pub fn adc_step(layer: &LayerCells, dir: Direction, cfg: &Xbar) -> f32 {
    Adc::new(layer, dir, cfg).step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizer() {
        let adc = Adc {
            step: 2.0,
            inv_lsb: 0.5,
            floor_i: 10.0,
            max_code: 15.0,
        };
        // I = 10 is the floor: code 0; I = 40 -> 15; above clips, below clips.
        assert_eq!(adc.quantize(adc.value(10.0)), (0, false));
        assert_eq!(adc.quantize(adc.value(40.0)), (15, false));
        assert_eq!(adc.quantize(adc.value(42.0)), (15, true));
        assert_eq!(adc.quantize(adc.value(8.0)), (0, true));
    }
}
