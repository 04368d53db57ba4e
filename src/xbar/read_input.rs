//! The input of a read: the values, their range x_max, the sign handling and the read counter
//! that keys the noise draws; and each value's input code
//!
//!   q = floor((2^bits - 1) clamp(x / x_max, 0, 1) + 0.5),
//!
//! fed to the DAC d bits per cycle: digit q_t = (q >> d t) & (2^d - 1). A signed read takes the
//! negative values in a second pass as the codes of -x, and subtracts that pass.

use super::direction::Direction;
use super::geometry::geometry;
use super::mapping::LayerCells;
use crate::config::Xbar;

/// Input code q of one value.
#[inline]
pub fn input_code(x: f32, x_max: f32, bits: u32) -> u32 {
    let qmax = ((1u32 << bits) - 1) as f32;
    super::device::floor(qmax * (x / x_max).clamp(0.0, 1.0) + 0.5) as u32
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

/// Asserts that `inp` has `batch` rows of the read's lines and a positive, finite range.
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
