//! Nonlinearity label NL -> shape parameter A of the exponential update curve.
//!
//! With x = p / P_max and a = A / P_max, the normalised potentiation curve is
//! y(x) = (1 - e^(-x/a)) / (1 - e^(-1/a)). Papers quote NL = 10x the largest gap between that curve
//! and the straight line y = x, normalised so that
//! `max_x [y(x) - x] = 0.098995 |NL|`. The gap shrinks monotonically as a grows, so a is found by
//! bisection (in log a, where the gap is smooth). All in f64: this runs once per layer, not per cell.

/// Gap per unit of |NL|.
pub const GAP_PER_NL: f64 = 0.098995;

/// Largest |NL| the solver accepts; the gap of the steepest curve (a -> 0) tends to 1, i.e.
/// |NL| -> 10.1, so 9 leaves margin and is also the config's limit.
pub const NL_MAX: f64 = 9.0;

/// max_{x in [0,1]} [y(x) - x] for shape a > 0.
///
/// dy/dx = e^(-x/a) / (a (1 - e^(-1/a))) = 1 gives x* = -a ln(a (1 - e^(-1/a))), clamped to [0, 1].
/// `exp_m1`/`ln_1p` keep it accurate for large a, where y(x) - x is a small difference.
pub fn gap(a: f64) -> f64 {
    let den = -(-1.0 / a).exp_m1(); // 1 - e^(-1/a)
    let x = (-a * (a * den).ln()).clamp(0.0, 1.0);
    -(-x / a).exp_m1() / den - x
}

/// Normalised shape a = A / P_max for a nonlinearity label; `None` for a linear device (NL = 0).
/// The sign of NL (depression is often quoted negative) is ignored. |NL| above [`NL_MAX`] is
/// treated as [`NL_MAX`] so the result is always finite.
pub fn shape_from_nl(nl: f64) -> Option<f64> {
    let target = GAP_PER_NL * nl.abs().min(NL_MAX);
    if target.is_nan() || target <= 0.0 {
        return None;
    }
    // gap(1e-4) ~ 1 > target(NL_MAX) ~ 0.89 and gap(1e9) ~ 1e-10 < target for any |NL| >= 1e-8.
    let (mut lo, mut hi) = (1e-4f64.ln(), 1e9f64.ln());
    if gap(hi.exp()) >= target {
        return None; // indistinguishable from linear
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if gap(mid.exp()) > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    Some((0.5 * (lo + hi)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_values() {
        for (nl, a) in [
            (1.00, 1.251653),
            (1.46, 0.848677),
            (1.75, 0.702081),
            (2.40, 0.499181),
            (4.88, 0.200303),
        ] {
            let got = shape_from_nl(nl).unwrap();
            assert!((got - a).abs() < 1e-5, "NL {nl}: a {got}, expected {a}");
            assert_eq!(shape_from_nl(-nl), Some(got));
        }
    }

    #[test]
    fn linear_and_fine_grid() {
        assert_eq!(shape_from_nl(0.0), None);
        let mut prev = f64::INFINITY;
        for i in 1..=9000 {
            let nl = i as f64 * 1e-3;
            let a = shape_from_nl(nl).unwrap();
            assert!(a.is_finite() && a > 0.0, "NL {nl}: a {a}");
            assert!(a < prev, "not monotone at NL {nl}");
            assert!((gap(a) - GAP_PER_NL * nl).abs() < 1e-9);
            prev = a;
        }
    }
}
