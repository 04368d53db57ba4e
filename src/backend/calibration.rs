//! Calibrating reads ([`Backend::xbar_calibrate_read`](super::Backend::xbar_calibrate_read)):
//! each instance's `calibrated` ADC range is set from the read's own data-column partial sums,
//! then the inputs are read through it.
//!
//! The host implementation (`backend::xbar::HostXbar::read`, calibrating) runs
//! `xbar::read::calibrate_read_with` per instance. A device counts
//! the sums' levels |I| / unit instead, level by level, in histograms over their f32 bits
//! ([`HistLevel`], the bins of `xbar::percentile`), and [`percentile_levels`] narrows the two
//! percentile ranks down: the coarse bin, then the fine bin (the value of a binned percentile:
//! the bin's middle), then, where the host takes exact ranks (up to `percentile::EXACT_LIMIT`
//! sums), the low bits, which give the value itself. Counts are u32 atomics, so the result does
//! not depend on the order the device adds them in.

use crate::xbar::adc_range::AdcRange;
use crate::xbar::percentile;

/// Counts per half of a level's histogram: the coarse bins (2041) fit, and 1024 sub-bins.
pub const HIST_BINS: usize = 2048;
/// Words per instance of a device histogram: header [level, target 0, target 1, 1 / unit as
/// f32 bits], then two halves of [`HIST_BINS`] counts (`shaders/xbar_read.wgsl`).
pub const HIST_STRIDE: usize = 4 + 2 * HIST_BINS;

/// What one histogram pass counts of the levels v (f32 bits b, infinity and NaN as infinity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistLevel {
    /// Every level, by coarse bin `b >> 20` (`percentile::coarse`).
    Coarse,
    /// The levels whose coarse bin is target h, by fine bin `(b >> 10) & 1023`
    /// (`percentile::fine`), into half h (a level matching both counts in half 0).
    Fine([u32; 2]),
    /// The levels whose bin `b >> 10` (`percentile::bin`) is target h, by `b & 1023`.
    Exact([u32; 2]),
}

impl HistLevel {
    /// The header words of a device histogram at this level.
    pub fn header(&self, inv_unit: f32) -> [u32; 4] {
        let (level, [t0, t1]) = match *self {
            HistLevel::Coarse => (1, [0, 0]),
            HistLevel::Fine(t) => (2, t),
            HistLevel::Exact(t) => (3, t),
        };
        [level, t0, t1, inv_unit.to_bits()]
    }

    /// Index among the `[2][HIST_BINS]` counts of a level `v` (non-negative), if counted.
    pub fn slot(&self, v: f32) -> Option<usize> {
        let b = v.to_bits().min(0x7f80_0000);
        let (key, sub, t) = match *self {
            HistLevel::Coarse => return Some((b >> 20) as usize),
            HistLevel::Fine(t) => (b >> 20, (b >> 10) & 1023, t),
            HistLevel::Exact(t) => (b >> 10, b & 1023, t),
        };
        let half = t.iter().position(|&x| x == key)?;
        Some(half * HIST_BINS + sub as usize)
    }
}

/// The CPU twin of the device's histogram pass (`read_histogram` in
/// `shaders/xbar_read.wgsl`): the `[2][HIST_BINS]` counts of `levels` at `level`.
pub fn level_histogram(levels: &[f32], level: &HistLevel) -> Vec<u32> {
    let mut h = vec![0u32; 2 * HIST_BINS];
    for &v in levels {
        if let Some(i) = level.slot(v) {
            h[i] += 1;
        }
    }
    h
}

/// 1-based ranks of the calibration's (100 - p) and p percentiles among `n` levels.
pub fn calibration_ranks(n: u64, pct: f64) -> [u64; 2] {
    [100.0 - pct, pct].map(|q| percentile::rank(q, n.max(1) as usize) as u64)
}

/// Index of the bin holding `rank` (1-based) in `hist`, and the values below it.
fn rank_bin(hist: &[u32], rank: u64) -> Option<(usize, u64)> {
    let mut below = 0u64;
    for (i, &c) in hist.iter().enumerate() {
        if below + c as u64 >= rank {
            return Some((i, below));
        }
        below += c as u64;
    }
    None
}

/// The levels of `ranks` for each of `p` instances, from histograms that `count` takes of the
/// same levels (one per instance, `[2][HIST_BINS]` counts each): the middle of the rank's bin
/// as `percentile::from_histogram` gives it, or with `exact` the rank's value itself. `None`
/// for an instance with fewer levels than a rank.
pub fn percentile_levels(
    p: usize,
    ranks: [u64; 2],
    exact: bool,
    mut count: impl FnMut(&[HistLevel]) -> Vec<Vec<u32>>,
) -> Vec<Option<[f32; 2]>> {
    // Per instance and rank: the bin found so far and the levels below it.
    let coarse = count(&vec![HistLevel::Coarse; p]);
    let mut at: Vec<Option<[(usize, u64); 2]>> = coarse
        .iter()
        .map(|h| {
            let c = &h[..HIST_BINS];
            Some([rank_bin(c, ranks[0])?, rank_bin(c, ranks[1])?])
        })
        .collect();
    // Narrows each rank's bin by the sub-bin of the next level (`shift` more bits).
    let mut narrow = |at: &mut Vec<Option<[(usize, u64); 2]>>, exact_level: bool| {
        let levels: Vec<HistLevel> = at
            .iter()
            .map(|a| {
                let t = a.map_or([u32::MAX; 2], |a| a.map(|(b, _)| b as u32));
                if exact_level {
                    HistLevel::Exact(t)
                } else {
                    HistLevel::Fine(t)
                }
            })
            .collect();
        let hists = count(&levels);
        for (a, h) in at.iter_mut().zip(&hists) {
            *a = a.and_then(|a| {
                let half = |r: usize| {
                    let h0 = if r == 1 && a[1].0 != a[0].0 {
                        HIST_BINS
                    } else {
                        0
                    };
                    let (sub, below) = rank_bin(&h[h0..h0 + 1024], ranks[r] - a[r].1)?;
                    Some((a[r].0 * 1024 + sub, a[r].1 + below))
                };
                Some([half(0)?, half(1)?])
            });
        }
    };
    narrow(&mut at, false);
    if exact {
        narrow(&mut at, true);
    }
    at.iter()
        .map(|a| {
            a.map(|a| {
                a.map(|(b, _)| {
                    if exact {
                        f32::from_bits(b as u32)
                    } else {
                        // The middle of bin b (`percentile::from_histogram`).
                        f32::from_bits(((b as u32) << 10) | (1 << 9))
                    }
                })
            })
        })
        .collect()
}

/// The calibrated range of percentile levels `lo`, `hi`: non-negative with a positive top, as
/// the host calibration keeps it; `None` (no levels) gives [0, 1].
pub fn calibrated_range(levels: Option<[f32; 2]>) -> AdcRange {
    let [lo, hi] = levels.unwrap_or([0.0, 1.0]);
    AdcRange {
        lo: lo.max(0.0),
        hi: hi.max(f32::MIN_POSITIVE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The level-by-level search gives the full histogram's value (`percentile`), and with
    /// `exact` the order statistic itself.
    #[test]
    fn search_equals_full_histogram_and_order_statistic() {
        let mut vals: Vec<f32> = (0..40_000)
            .map(|i| ((i as f32 * 0.37).sin() * 11.0).exp2() * 0.7)
            .collect();
        vals.extend([0.0; 300]);
        vals.extend([f32::INFINITY, 5.0, 5.0, 1e-40]);
        let mut full = vec![0u64; percentile::bins()];
        for &v in &vals {
            full[percentile::bin(v)] += 1;
        }
        let mut sorted = vals.clone();
        sorted.sort_by(f32::total_cmp);
        let n = vals.len() as u64;
        for pct in [99.99, 99.0, 90.0, 50.0, 100.0, 99.7] {
            let ranks = calibration_ranks(n, pct);
            let count = |l: &[HistLevel]| l.iter().map(|l| level_histogram(&vals, l)).collect();
            let binned = percentile_levels(2, ranks, false, count);
            let exact = percentile_levels(1, ranks, true, count);
            for r in 0..2 {
                let want = percentile::from_histogram(&full, ranks[r]);
                assert_eq!(binned[1].unwrap()[r].to_bits(), want.to_bits(), "{pct}");
                let want = sorted[ranks[r] as usize - 1];
                assert_eq!(exact[0].unwrap()[r].to_bits(), want.to_bits(), "{pct}");
            }
        }
        let count = |l: &[HistLevel]| l.iter().map(|l| level_histogram(&vals, l)).collect();
        assert_eq!(percentile_levels(1, [1, n + 1], true, count), vec![None]);
    }
}
