//! The activity of a read call, in exact integers: lines driven, ADC conversions, clipped codes.

use std::ops::AddAssign;

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
