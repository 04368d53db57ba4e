//! The `calibrated` ADC range (`adc`): from the partial-sum currents observed on a calibration
//! batch (levels), the low and high percentiles
//!
//!   lo = P_(100 - p),   hi = P_p   (nearest rank, p = `adc_percentile`),
//!
//! with rank(q) = clamp(ceil(q n / 100), 1, n) of the n sorted values, lo kept >= 0 and hi > 0.

/// One calibrated range in levels: the current of code 0 and the span of the codes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdcRange {
    pub lo: f32,
    pub hi: f32,
}

/// The calibrated range of observed currents `seen` (levels, any order): the (100 - p) and p
/// percentiles (nearest rank). `None` when nothing was seen.
pub fn percentile_range(seen: &mut [f32], percentile: f64) -> Option<AdcRange> {
    if seen.is_empty() {
        return None;
    }
    seen.sort_unstable_by(f32::total_cmp);
    let n = seen.len();
    let rank = |q: f64| ((q / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1;
    Some(AdcRange {
        lo: seen[rank(100.0 - percentile)].max(0.0),
        hi: seen[rank(percentile)].max(f32::MIN_POSITIVE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut v: Vec<f32> = (1..=1000).rev().map(|i| i as f32).collect();
        let r = percentile_range(&mut v, 99.0).unwrap();
        assert_eq!((r.lo, r.hi), (10.0, 990.0));
        let r = percentile_range(&mut v, 100.0).unwrap();
        assert_eq!((r.lo, r.hi), (1.0, 1000.0));
        assert_eq!(percentile_range(&mut [], 99.0), None);
    }
}
