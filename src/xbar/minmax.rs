//! The `minmax` ADC range: every partial-sum tensor is quantized over its own observed range,
//! as NeuroSim's inference path quantizes each partial-sum tensor it produces.
//!
//! Granularity (NeuroSim V2.1 reads one row group (subarray), one weight slice and one input
//! bit at a time, and quantizes the whole resulting tensor, every sample of the batch and every
//! output column, with the tensor's min and max; the reference (dummy) columns form a tensor of
//! their own): here a tensor is one (sign pass, row group, pass, slice, input cycle, kind) of a
//! read call, over all samples of the call and all its columns of that kind. Kind 0: the data
//! columns (both sets of a differential mapping), kind 1: the two reference columns (offset).
//!
//! With lo, hi the smallest and largest column current I of the tensor (f32, the read's own
//! sums) and b_a ADC bits:
//!
//!   step = (hi - lo) 2^(-b_a),
//!   r = floor((I - lo) / step + output_noise z),   index = clamp(r, 0, 2^b_a - 1),
//!   value = lo + index step   (f64; the conversion's current as the digital side sees it),
//!
//! 2^b_a codes over [lo, hi], each value the lower edge of its code (so the largest sum, at
//! (I - lo) / step = 2^b_a, takes the top code). A tensor with hi = lo converts every sum to lo.
//! A conversion clips only when output noise pushes r below 0 or above 2^b_a.
//! The shift-add then adds the values (not integer codes): acc_o += (2 v_o - v_lo - v_hi)
//! 2^(c k + d t) (offset) or (v_o+ - v_o-) 2^(c k + d t) (differential), in f64, and raw =
//! drift_gain / unit * (acc_positive - acc_negative) in levels x input codes.
//!
//! Because the range is set by the call's whole batch, one sample's result depends on the others
//! read with it, as in NeuroSim.

use crate::config::Mapping;

use super::geometry::Geometry;
use super::mapping::LayerCells;

/// Tensor kinds: data columns, reference columns.
pub const KINDS: usize = 2;

/// Tensors of a read of `signs` sign passes.
pub fn tensors(geo: &Geometry, signs: usize) -> usize {
    signs * geo.n_groups * geo.n_pass * geo.slices * geo.cycles * KINDS
}

/// Tensor of a conversion: sign pass, group g, pass p, slice k, cycle t, reference column or not.
#[inline]
pub fn tensor(
    geo: &Geometry,
    sign: usize,
    g: usize,
    p: usize,
    k: usize,
    t: usize,
    r: bool,
) -> usize {
    ((((sign * geo.n_groups + g) * geo.n_pass + p) * geo.slices + k) * geo.cycles + t) * KINDS
        + r as usize
}

/// The observed [lo, hi] of every tensor, to be widened by [`observe`].
pub fn empty(n: usize) -> Vec<(f32, f32)> {
    vec![(f32::INFINITY, f32::NEG_INFINITY); n]
}

/// Widens `range` to contain `i`.
#[inline]
pub fn observe(range: &mut (f32, f32), i: f32) {
    range.0 = range.0.min(i);
    range.1 = range.1.max(i);
}

/// Merges two observed ranges (order-independent).
pub fn merge(a: &mut [(f32, f32)], b: &[(f32, f32)]) {
    for (x, y) in a.iter_mut().zip(b) {
        x.0 = x.0.min(y.0);
        x.1 = x.1.max(y.1);
    }
}

/// The quantizer of one tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub lo: f32,
    /// (hi - lo) 2^-b_a; 0 for a constant (or empty) tensor.
    pub step: f32,
    /// 2^b_a - 1.
    pub max_code: f32,
}

impl Range {
    /// From an observed [lo, hi] (an empty tensor, lo > hi, gives a zero range).
    pub fn new((lo, hi): (f32, f32), adc_bits: u32) -> Self {
        let levels = (1u64 << adc_bits) as f32;
        let (lo, step) = if hi > lo {
            (lo, (hi - lo) / levels)
        } else if hi == lo {
            (lo, 0.0)
        } else {
            (0.0, 0.0)
        };
        Self {
            lo,
            step,
            max_code: levels - 1.0,
        }
    }

    /// Code index of current `i` with output noise `noise` (LSBs), and whether it clipped.
    #[inline]
    pub fn index(&self, i: f32, noise: f32) -> (f32, bool) {
        if self.step <= 0.0 {
            return (0.0, false);
        }
        let r = ((i - self.lo) / self.step + noise).floor();
        (
            r.clamp(0.0, self.max_code),
            r < 0.0 || r > self.max_code + 1.0,
        )
    }

    /// The current of code `index`.
    #[inline]
    pub fn value(&self, index: f32) -> f64 {
        self.lo as f64 + index as f64 * self.step as f64
    }
}

/// `minmax` shift-add of one (slice, cycle): acc_o += (2 v_o - (v_lo + v_hi)) 2^shift (offset)
/// or (v_o+ - v_o-) 2^shift (differential), f64, in the reference's order.
#[inline]
pub(super) fn shift_add(acc: &mut [f64], vals: &[f64], mapping: Mapping, shift: usize) {
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
pub(super) fn scale(layer: &LayerCells, negative: bool) -> f64 {
    let f = layer.drift_gain as f64 / layer.unit() as f64;
    if negative {
        -f
    } else {
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizer_closed_form() {
        let r = Range::new((2.0, 10.0), 3);
        assert_eq!((r.lo, r.step, r.max_code), (2.0, 1.0, 7.0));
        assert_eq!(r.index(2.0, 0.0), (0.0, false));
        assert_eq!(r.index(5.7, 0.0), (3.0, false));
        // The largest sum takes the top code, without counting as clipped.
        assert_eq!(r.index(10.0, 0.0), (7.0, false));
        assert_eq!(r.value(3.0), 5.0);
        // Noise beyond the range clips.
        assert_eq!(r.index(2.0, -1.5), (0.0, true));
        assert_eq!(r.index(10.0, 1.5), (7.0, true));
        // A constant tensor converts to its value.
        let c = Range::new((4.0, 4.0), 5);
        assert_eq!(c.value(c.index(4.0, 0.3).0), 4.0);
        let e = Range::new((f32::INFINITY, f32::NEG_INFINITY), 5);
        assert_eq!((e.lo, e.step), (0.0, 0.0));
    }
}
