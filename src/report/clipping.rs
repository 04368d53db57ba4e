//! ADC clipping per layer: the share of conversions that saturated, from activity counters.

use serde::Serialize;

/// Clipped fraction of one layer's ADC conversions, per read direction (0 when there were no
/// conversions in that direction).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClipFractions {
    pub forward: f64,
    pub transposed: f64,
}

/// Per layer, the clipped fraction of the conversions between two activity snapshots.
pub fn clip_fractions(
    now: &[crate::backend::XbarActivity],
    before: &[crate::backend::XbarActivity],
) -> Vec<ClipFractions> {
    let frac = |c: crate::xbar::Counters| {
        if c.adc_conversions == 0 {
            0.0
        } else {
            c.adc_clipped as f64 / c.adc_conversions as f64
        }
    };
    now.iter()
        .zip(before)
        .map(|(n, b)| {
            let d = n.minus(b);
            ClipFractions {
                forward: frac(d.forward),
                transposed: frac(d.transposed),
            }
        })
        .collect()
}
