//! The calibration percentile of a read's partial sums, without sorting them.
//!
//! The reference takes the value of rank ceil(p n / 100) among the n data-column partial sums
//! |I| (levels). Up to [`EXACT_LIMIT`] sums the result is that value exactly: the GEMM's
//! approximations a_i (|a_i - e_i| <= rho a_i, see `fast_read`) are selected in O(n), and only the
//! candidates within 3 rho of the selected one are recomputed in the reference's order, which
//! fixes the exact order statistic. Above the limit (conv layers read thousands of positions per
//! image) the sums are binned by their f32 bit pattern, 2^13 bins per octave, and the result is
//! the middle of the bin holding the rank: within a relative 2^-13 + rho of the reference
//! (rho ~ 2 x lines per pass x 2^-24), with memory independent of n. The same bins can be
//! counted in two levels: a coarse histogram (3 mantissa bits, small enough to stay in cache)
//! finds the coarse bin of each rank, and a second count of the fine bins inside it only gives
//! the value the full histogram gives.

/// Largest read whose percentile is exact.
pub const EXACT_LIMIT: u64 = 1 << 22;

/// Low bits of the f32 pattern dropped by the histogram (23 - 10 = 13 mantissa bits kept).
const SHIFT: u32 = 10;

/// Bins of the histogram: every non-negative finite f32, then one for infinity and NaN.
pub fn bins() -> usize {
    (0x7f80_0000u32 >> SHIFT) as usize + 1
}

/// Bin of a non-negative value.
#[inline]
pub fn bin(v: f32) -> usize {
    (v.to_bits().min(0x7f80_0000) >> SHIFT) as usize
}

/// Fine bins per coarse bin of the two-level histogram ([`coarse`], [`fine`]).
pub const FINE: usize = 1 << 10;

/// Coarse bin of a non-negative value: `bin(v) / FINE` (3 mantissa bits per octave), a table
/// small enough to stay in cache however many values are binned.
#[inline]
pub fn coarse(v: f32) -> usize {
    bin(v) / FINE
}

/// Fine bin of `v` inside its coarse bin: `bin(v) % FINE`.
#[inline]
pub fn fine(v: f32) -> usize {
    bin(v) % FINE
}

/// The coarse bin holding `rank` (1-based) in the coarse histogram `hist`, and the values in
/// the bins below it; `None` when there are fewer values.
pub fn coarse_rank(hist: &[u64], rank: u64) -> Option<(usize, u64)> {
    let mut below = 0u64;
    for (b, &c) in hist.iter().enumerate() {
        if below + c >= rank {
            return Some((b, below));
        }
        below += c;
    }
    None
}

/// Value of `rank` (1-based) from its coarse bin `c`, the values below it and the fine
/// histogram of that bin: the value [`from_histogram`] gives on the full histogram.
pub fn from_two_level(c: usize, below: u64, fine_hist: &[u64], rank: u64) -> f32 {
    let mut below = below;
    for (f, &n) in fine_hist.iter().enumerate() {
        if below + n >= rank {
            return mid(c * FINE + f);
        }
        below += n;
    }
    f32::INFINITY
}

/// The middle of bin `b`.
fn mid(b: usize) -> f32 {
    f32::from_bits(((b as u32) << SHIFT) | (1 << (SHIFT - 1)))
}

/// 1-based rank of the `percentile` among `n` values.
pub fn rank(percentile: f64, n: usize) -> usize {
    ((percentile / 100.0 * n as f64).ceil() as usize).clamp(1, n)
}

/// Value of `rank` (1-based) in the histogram `hist`: the middle of its bin.
pub fn from_histogram(hist: &[u64], rank: u64) -> f32 {
    let mut below = 0u64;
    for (b, &c) in hist.iter().enumerate() {
        if below + c >= rank {
            return mid(b);
        }
        below += c;
    }
    f32::INFINITY
}

/// The `rank`-th smallest (1-based) of the exact values e_i, given approximations `a` with
/// |a_i - e_i| <= rel a_i and `exact(i)` = e_i.
pub fn exact_rank(
    a: &[f32],
    rank: usize,
    rel: f32,
    exact: impl Fn(usize) -> f32 + Sync + Send,
) -> f32 {
    use rayon::prelude::*;
    let mut sel = a.to_vec();
    let q = *sel.select_nth_unstable_by(rank - 1, f32::total_cmp).1 as f64;
    let w = 3.0 * rel as f64;
    let (lo, hi) = (q * (1.0 - w), q * (1.0 + w));
    let below = a.par_iter().filter(|&&v| (v as f64) < lo).count();
    let mut cand: Vec<f32> = (0..a.len())
        .into_par_iter()
        .filter(|&i| (lo..=hi).contains(&(a[i] as f64)))
        .map(&exact)
        .collect();
    if below < rank && rank <= below + cand.len() {
        *cand
            .select_nth_unstable_by(rank - below - 1, f32::total_cmp)
            .1
    } else {
        // Only when the bound does not hold (it does for non-negative terms): all exact.
        let mut all: Vec<f32> = (0..a.len()).into_par_iter().map(&exact).collect();
        *all.select_nth_unstable_by(rank - 1, f32::total_cmp).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_rank_recovers_the_exact_order_statistic() {
        // Exact values on a coarse grid, approximations perturbed within the bound.
        let n = 5000;
        let rel = 1e-4f32;
        let exact: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 * 0.25).collect();
        let approx: Vec<f32> = exact
            .iter()
            .enumerate()
            .map(|(i, &e)| e * (1.0 + rel * 0.9 * (((i * 31) % 7) as f32 / 3.0 - 1.0)))
            .collect();
        let mut sorted = exact.clone();
        sorted.sort_by(f32::total_cmp);
        for p in [0.0, 1.0, 50.0, 99.0, 99.99, 100.0] {
            let r = rank(p, n);
            let got = exact_rank(&approx, r, rel, |i| exact[i]);
            assert_eq!(got, sorted[r - 1], "percentile {p}");
        }
    }

    #[test]
    fn two_level_histogram_equals_the_full_one() {
        // Values over several octaves, zeros, a subnormal and infinity included.
        let mut vals: Vec<f32> = (0..50_000)
            .map(|i| ((i as f32 * 0.61).sin() * 9.0).exp2() * 0.3)
            .collect();
        vals.extend([0.0, 1e-40, f32::INFINITY, 5.0, 5.0]);
        let mut full = vec![0u64; bins()];
        let mut top = vec![0u64; bins().div_ceil(FINE)];
        for &v in &vals {
            full[bin(v)] += 1;
            top[coarse(v)] += 1;
        }
        for r in [1, 2, 50, 25_000, 49_950, 50_004, 50_005] {
            let (c, below) = coarse_rank(&top, r).expect("rank within the values");
            let mut f = vec![0u64; FINE];
            for &v in vals.iter().filter(|&&v| coarse(v) == c) {
                f[fine(v)] += 1;
            }
            let got = from_two_level(c, below, &f, r);
            assert_eq!(
                got.to_bits(),
                from_histogram(&full, r).to_bits(),
                "rank {r}"
            );
        }
        assert_eq!(coarse_rank(&top, 50_006), None);
    }

    #[test]
    fn histogram_rank_within_a_bin() {
        let vals: Vec<f32> = (0..100_000)
            .map(|i| (i as f32 * 0.37).sin().abs() * 50.0)
            .collect();
        let mut hist = vec![0u64; bins()];
        for &v in &vals {
            hist[bin(v)] += 1;
        }
        let mut sorted = vals.clone();
        sorted.sort_by(f32::total_cmp);
        for p in [1.0, 50.0, 99.0, 99.99] {
            let r = rank(p, vals.len());
            let got = from_histogram(&hist, r as u64);
            let want = sorted[r - 1];
            assert!(
                ((got - want) / want).abs() <= 2f32.powi(-13),
                "percentile {p}: {got} vs {want}"
            );
        }
    }
}
