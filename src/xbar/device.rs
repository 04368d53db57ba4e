//! Conductance update of one cell by n programming pulses (docs/crossbar.md, "Programming").
//!
//! State is the normalised conductance g = G / G_max in [g_min, 1], g_min = 1 / on_off. The curve
//! works in y = (g - g_min) / (1 - g_min) in [0, 1] and the pulse coordinate x = p / P_max, with a
//! signed shape a (the sign of the NL label, as in NeuroSim V2.1):
//! - a > 0, concave: y = (1 - e^(-x/a)) / (1 - e^(-1/a));
//! - a < 0, the point-mirrored (convex) curve: 1 - y = (1 - e^(-(1-x)/|a|)) / (1 - e^(-1/|a|));
//! - a = 0 (NL = 0): y = x.
//!
//! Potentiation moves along the curve of a_ltp = A_LTP / P_max, depression along that of
//! a_ltd = A_LTD / P_max. A positive NL_LTD therefore makes depression retrace a concave curve
//! (a near-symmetric device: with a_ltd = a_ltp, n pulses up then n down return to the start); a
//! negative NL_LTD makes it follow the mirrored curve, so up and down steps differ at every state
//! (an asymmetric device, which drifts toward its symmetry point under random updates).
//!
//! The update is f32 throughout, with `exp`, `ln` and short Taylor series only, so a WGSL port
//! computes the same numbers (to f32 rounding). `P_max = levels - 1`: a device with `levels`
//! states moves from G_min to G_max in `levels - 1` pulses.

use super::nl::shape_from_nl;
use crate::config::C2cLaw;

/// Snap the pulse coordinate to an integer when it is this close: keeps a noise-free device on
/// its `levels` grid despite f32 round-off in curve -> inverse -> curve.
pub const SNAP: f32 = 0.01;

/// Smallest factor per-cell NL variation may scale A by (keeps A > 0).
pub const NL_D2D_FLOOR: f32 = 0.01;

/// The update curve of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellCurve {
    /// Pulses from G_min to G_max.
    pub p_max: f32,
    /// A_LTP / P_max, signed as the NL label (negative: mirrored curve); 0 means linear.
    pub a_ltp: f32,
    /// A_LTD / P_max, signed as the NL label (positive: retrace, negative: mirrored); 0 linear.
    pub a_ltd: f32,
    /// This cell's lower bound, G_min,i / G_max (nominal G_max).
    pub g_min: f32,
    /// This cell's upper bound, G_max,i / G_max (1 for the nominal device).
    pub g_max: f32,
    /// Up/down asymmetry of this cell: a SET pulse moves the pulse coordinate by 1 + up_down,
    /// a RESET pulse by 1 - up_down (0 for the nominal device).
    pub up_down: f32,
}

/// Largest |up_down| of one cell: both pulse directions keep at least 10% of a step.
pub const UP_DOWN_LIMIT: f32 = 0.9;

/// Smallest factor a bound spread may scale a bound by.
pub const BOUND_FLOOR: f32 = 0.1;

impl CellCurve {
    /// The nominal curve of a device: `levels` states, NL labels solved for A (f64, once); A
    /// carries the label's sign.
    pub fn nominal(levels: u32, on_off: f64, nl_ltp: f64, nl_ltd: f64) -> Self {
        let shape = |nl: f64| (shape_from_nl(nl).unwrap_or(0.0) * nl.signum()) as f32;
        Self {
            p_max: (levels.max(2) - 1) as f32,
            a_ltp: shape(nl_ltp),
            a_ltd: shape(nl_ltd),
            g_min: (1.0 / on_off) as f32,
            g_max: 1.0,
            up_down: 0.0,
        }
    }

    /// This curve with a device-to-device up/down asymmetry and bound spread (aihwkit's
    /// `up_down_dtod`, `w_max_dtod` / `w_min_dtod`), from frozen standard normals:
    /// up_down = clamp(up_down_d2d z_ud, -[`UP_DOWN_LIMIT`], [`UP_DOWN_LIMIT`]),
    /// g_max,i = max(1 + bounds_d2d z_max, [`BOUND_FLOOR`]),
    /// g_min,i = g_min max(1 + bounds_d2d z_min, [`BOUND_FLOOR`]), and g_min,i = g_min g_max,i
    /// should that not lie below g_max,i.
    pub fn with_spread(mut self, up_down_d2d: f32, bounds_d2d: f32, z: [f32; 3]) -> Self {
        self.up_down = (up_down_d2d * z[0]).clamp(-UP_DOWN_LIMIT, UP_DOWN_LIMIT);
        if bounds_d2d > 0.0 {
            let g_max = (1.0 + bounds_d2d * z[1]).max(BOUND_FLOOR);
            let g_min = self.g_min * (1.0 + bounds_d2d * z[2]).max(BOUND_FLOOR);
            self.g_min = if g_min < g_max {
                g_min
            } else {
                self.g_min * g_max
            };
            self.g_max = g_max;
        }
        self
    }

    /// This curve with per-cell NL variation: A -> A max(1 + nl_d2d z, [`NL_D2D_FLOOR`]), z ~ N(0,1)
    /// frozen per cell (one draw for LTP, one for LTD).
    pub fn with_nl_d2d(mut self, nl_d2d: f32, z_ltp: f32, z_ltd: f32) -> Self {
        self.a_ltp *= (1.0 + nl_d2d * z_ltp).max(NL_D2D_FLOOR);
        self.a_ltd *= (1.0 + nl_d2d * z_ltd).max(NL_D2D_FLOOR);
        self
    }
}

/// e^z - 1 without cancellation for small |z| (WGSL has no expm1).
pub fn expm1f(z: f32) -> f32 {
    if z.abs() < 0.1 {
        // Taylor to z^6: remainder below 2e-11 relative.
        z * (1.0
            + z * (0.5
                + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z * (1.0 / 720.0))))))
    } else {
        z.exp() - 1.0
    }
}

/// ln(1 + z) without cancellation for small |z|; -inf when 1 + z <= 0.
pub fn ln1pf(z: f32) -> f32 {
    if z.abs() < 0.01 {
        z * (1.0 - z * (0.5 - z * (1.0 / 3.0 - z * 0.25)))
    } else if 1.0 + z <= 0.0 {
        f32::NEG_INFINITY
    } else {
        (1.0 + z).ln()
    }
}

/// y(x) of the rising exponential with shape a (a = 0: linear).
fn rise(x: f32, a: f32) -> f32 {
    if a == 0.0 {
        x
    } else {
        (expm1f(-x / a) / expm1f(-1.0 / a)).clamp(0.0, 1.0)
    }
}

/// Inverse of [`rise`]: x(y), clamped to [0, 1]; y = 1 of a very steep curve gives ln(0) -> x = 1.
fn rise_inv(y: f32, a: f32) -> f32 {
    if a == 0.0 {
        y
    } else {
        let den = -expm1f(-1.0 / a);
        let l = ln1pf(-y * den);
        if l == f32::NEG_INFINITY {
            1.0
        } else {
            (-a * l).clamp(0.0, 1.0)
        }
    }
}

/// Position on the signed curve after `n` pulses from state y: the pulse coordinate of y on the
/// curve of shape `a`, snapped, moved by n and clamped to [0, P_max], mapped back. The mirrored
/// case counts pulses from G_max so that it reproduces the concave case's arithmetic.
fn step_on_curve(y: f32, n: i32, a: f32, p_max: f32, up_down: f32) -> f32 {
    // A pulse moves the pulse coordinate by 1 + up_down (SET) or 1 - up_down (RESET).
    let nf = n as f32 * if n > 0 { 1.0 + up_down } else { 1.0 - up_down };
    if a == 0.0 {
        let p = snap(y * p_max);
        (p + nf).clamp(0.0, p_max) / p_max
    } else if a > 0.0 {
        let p = snap(rise_inv(y, a) * p_max);
        rise((p + nf).clamp(0.0, p_max) / p_max, a)
    } else {
        let q = snap(rise_inv(1.0 - y, -a) * p_max); // pulses from G_max
        1.0 - rise((q - nf).clamp(0.0, p_max) / p_max, -a)
    }
}

/// y(x) of the signed curve of shape `a`.
fn curve(x: f32, a: f32) -> f32 {
    if a < 0.0 {
        1.0 - rise(1.0 - x, -a)
    } else {
        rise(x, a)
    }
}

/// x(y) of the signed curve of shape `a`.
fn curve_inv(y: f32, a: f32) -> f32 {
    if a < 0.0 {
        1.0 - rise_inv(1.0 - y, -a)
    } else {
        rise_inv(y, a)
    }
}

/// Normalised conductance after `n` pulses (n > 0 potentiates along the a_ltp curve, n < 0
/// depresses along the a_ltd curve), then c2c noise N(0, c2c (G_max - G_min) sqrt|n|) from the
/// standard normal `z`, then clipping to [G_min, G_max] (the cell's own bounds).
/// `n = 0` leaves the cell untouched (no pulse, no noise).
#[inline]
pub fn apply_pulses(g: f32, n: i32, c: &CellCurve, c2c: f32, z: f32) -> f32 {
    apply_update(g, n, c, c2c, C2cLaw::PerPulse, z)
}

/// As [`apply_pulses`], with the write noise of `law`: sigma = c2c (G_max - G_min) sqrt|n|
/// (`per_pulse`) or c2c (G_max - G_min) once per update (`per_update`, NeuroSim V2).
#[inline]
pub fn apply_update(g: f32, n: i32, c: &CellCurve, c2c: f32, law: C2cLaw, z: f32) -> f32 {
    if n == 0 {
        return g;
    }
    let pulses = match law {
        C2cLaw::PerPulse => (n.unsigned_abs() as f32).sqrt(),
        C2cLaw::PerUpdate => 1.0,
    };
    let range = c.g_max - c.g_min;
    let y = ((g - c.g_min) / range).clamp(0.0, 1.0);
    let a = if n > 0 { c.a_ltp } else { c.a_ltd };
    let y_new = step_on_curve(y, n, a, c.p_max, c.up_down);
    let noisy = c.g_min + y_new * range + c2c * range * pulses * z;
    noisy.clamp(c.g_min, c.g_max)
}

/// [`apply_update`] of a cell whose curve is linear both ways (`a_ltp = a_ltd = 0`): the same
/// operations in the same order, with selects instead of branches, so loops over cells
/// vectorize (equal bit for bit; `n = 0` leaves the cell as it is).
#[inline(always)]
pub fn apply_update_linear(g: f32, n: i32, c: &CellCurve, c2c: f32, law: C2cLaw, z: f32) -> f32 {
    let pulses = match law {
        C2cLaw::PerPulse => (n.unsigned_abs() as f32).sqrt(),
        C2cLaw::PerUpdate => 1.0,
    };
    let range = c.g_max - c.g_min;
    let y = ((g - c.g_min) / range).clamp(0.0, 1.0);
    // `step_on_curve` with a = 0.
    let nf = n as f32
        * if n > 0 {
            1.0 + c.up_down
        } else {
            1.0 - c.up_down
        };
    let p = snap(y * c.p_max);
    let y_new = (p + nf).clamp(0.0, c.p_max) / c.p_max;
    let noisy = c.g_min + y_new * range + c2c * range * pulses * z;
    let out = noisy.clamp(c.g_min, c.g_max);
    if n == 0 {
        g
    } else {
        out
    }
}

/// Normalised conductance after p pulses of potentiation from G_min (initial programming).
pub fn g_after_ltp(p: f32, c: &CellCurve) -> f32 {
    c.g_min + curve((p / c.p_max).clamp(0.0, 1.0), c.a_ltp) * (c.g_max - c.g_min)
}

/// Potentiation pulse coordinate (real-valued) at which the curve reaches `g`.
pub fn ltp_pulses_at(g: f32, c: &CellCurve) -> f32 {
    let y = ((g - c.g_min) / (c.g_max - c.g_min)).clamp(0.0, 1.0);
    curve_inv(y, c.a_ltp) * c.p_max
}

#[inline(always)]
fn snap(p: f32) -> f32 {
    let r = floor(p + 0.5);
    if (p - r).abs() < SNAP {
        r
    } else {
        p
    }
}

/// `f32::floor` without the libm call it is on baseline x86-64 (inlines and vectorizes), the
/// same value for every input but the sign of a zero result: from |x| >= 2^23 on every f32
/// is an integer (and NaN stays NaN).
#[inline(always)]
pub fn floor(x: f32) -> f32 {
    if x.abs() < 8_388_608.0 {
        let t = x as i32 as f32;
        if t > x {
            t - 1.0
        } else {
            t
        }
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inlined floor equals `f32::floor` (up to the sign of zero) on awkward values.
    #[test]
    fn floor_matches_std() {
        let mut v = vec![0.0f32, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.5, -2.5];
        v.extend([
            8_388_607.5,
            -8_388_607.5,
            8_388_608.0,
            -8_388_609.0,
            1e30,
            -1e30,
        ]);
        v.extend([
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        v.extend((0..10_000).map(|i| (i as f32 - 5000.0) * 0.3137));
        for x in v {
            assert_eq!(floor(x), x.floor(), "{x}");
        }
        assert!(floor(f32::NAN).is_nan());
    }

    fn curve(nl_ltp: f64, nl_ltd: f64, levels: u32, on_off: f64) -> CellCurve {
        CellCurve::nominal(levels, on_off, nl_ltp, nl_ltd)
    }

    #[test]
    fn curve_endpoints_and_inverse() {
        for nl in [0.0, 0.5, 1.75, 2.4, 4.88, 9.0] {
            let c = curve(nl, nl, 97, 12.5);
            assert!((g_after_ltp(0.0, &c) - c.g_min).abs() < 1e-6);
            assert!((g_after_ltp(96.0, &c) - 1.0).abs() < 1e-6);
            // Round trip in conductance (in pulses it is ill-posed where a steep curve is flat).
            for p in [0.0, 1.0, 10.0, 50.0, 95.0] {
                let g = g_after_ltp(p, &c);
                let back = g_after_ltp(ltp_pulses_at(g, &c), &c);
                assert!((back - g).abs() < 1e-5, "NL {nl} p {p}: {g} -> {back}");
            }
        }
    }

    #[test]
    fn up_down_returns_only_when_linear() {
        let lin = curve(0.0, 0.0, 97, 12.5);
        let nonlin = curve(1.75, -1.46, 97, 12.5);
        let g0 = g_after_ltp(30.0, &lin);
        let g = apply_pulses(apply_pulses(g0, 20, &lin, 0.0, 0.0), -20, &lin, 0.0, 0.0);
        assert!((g - g0).abs() < 1e-5, "linear: {g0} -> {g}");
        let g0 = g_after_ltp(30.0, &nonlin);
        let g = apply_pulses(
            apply_pulses(g0, 20, &nonlin, 0.0, 0.0),
            -20,
            &nonlin,
            0.0,
            0.0,
        );
        assert!(
            (g - g0).abs() > 0.01,
            "nonlinear device returned: {g0} -> {g}"
        );
    }

    /// The signed shapes against the checked NL -> a values, and each depression law against its
    /// closed form: retrace y = r(x - n / P_max, a), mirror 1 - y = r(1 - x + n / P_max, |a|),
    /// r(x, a) = (1 - e^(-x/a)) / (1 - e^(-1/a)).
    #[test]
    fn nl_sign_selects_retrace_or_mirror() {
        let r = |x: f64, a: f64| (1.0 - (-x / a).exp()) / (1.0 - (-1.0 / a).exp());
        let sym = curve(1.46, 1.46, 32, 1e9);
        let asym = curve(1.75, -1.46, 32, 1e9);
        assert!((sym.a_ltd as f64 - 0.848677).abs() < 1e-5, "{}", sym.a_ltd);
        assert!(
            (asym.a_ltd as f64 + 0.848677).abs() < 1e-5,
            "{}",
            asym.a_ltd
        );
        assert!((asym.a_ltp as f64 - 0.702081).abs() < 1e-5);
        let a = 0.848677f64;
        for (p, n) in [(20.0, 5), (25.0, 6), (10.0, 3)] {
            // Symmetric: up then down by the same count retraces exactly (on the level grid).
            let g0 = g_after_ltp(p as f32, &sym);
            let up = apply_pulses(g0, n, &sym, 0.0, 0.0);
            let back = apply_pulses(up, -n, &sym, 0.0, 0.0);
            assert!(
                (back - g0).abs() < 1e-6,
                "symmetric p {p} n {n}: {g0} -> {back}"
            );
            let down = apply_pulses(g0, -n, &sym, 0.0, 0.0) as f64;
            let want = r((p - n as f64) / 31.0, a);
            assert!(
                (down - want).abs() < 1e-5,
                "retrace p {p} n {n}: {down} vs {want}"
            );
            // Asymmetric: depression on the mirrored curve from the same conductance.
            let y0 = g_after_ltp(p as f32, &asym) as f64;
            let down = apply_pulses(y0 as f32, -n, &asym, 0.0, 0.0) as f64;
            // Pulses from G_max on the mirrored curve: r(q / P_max, a) = 1 - y0.
            let q = -a * (1.0 - (1.0 - y0) * (1.0 - (-1.0 / a).exp())).ln() * 31.0;
            let want = 1.0 - r(((q + n as f64) / 31.0).min(1.0), a);
            assert!(
                (down - want).abs() < 1e-4,
                "mirror p {p} n {n}: {down} vs {want}"
            );
        }
    }

    /// Write noise: sqrt(|n|) c2c (G_max - G_min) per pulse, c2c (G_max - G_min) per update.
    #[test]
    fn c2c_laws() {
        let c = curve(0.0, 0.0, 101, 5.0);
        let range = 1.0 - c.g_min;
        let g0 = g_after_ltp(40.0, &c);
        let clean = g_after_ltp(49.0, &c);
        let per_pulse = apply_update(g0, 9, &c, 0.01, C2cLaw::PerPulse, 1.0);
        let per_update = apply_update(g0, 9, &c, 0.01, C2cLaw::PerUpdate, 1.0);
        assert!(
            (per_pulse - clean - 0.03 * range).abs() < 1e-6,
            "{per_pulse}"
        );
        assert!(
            (per_update - clean - 0.01 * range).abs() < 1e-6,
            "{per_update}"
        );
        assert_eq!(apply_update(g0, 0, &c, 0.01, C2cLaw::PerUpdate, 1.0), g0);
    }

    /// The branch-free linear update is `apply_update` bit for bit, saturation, both laws,
    /// spreads and n = 0 included.
    #[test]
    fn linear_update_equals_apply_update() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        };
        for levels in [2, 17, 1000] {
            let base = curve(0.0, 0.0, levels, 20.0);
            let spread = base.with_spread(0.3, 0.2, [0.7, -0.4, 1.1]);
            for c in [base, spread] {
                for law in [C2cLaw::PerPulse, C2cLaw::PerUpdate] {
                    for _ in 0..2000 {
                        let g = c.g_min + next() * 1.2 * (c.g_max - c.g_min) - 0.05;
                        let n = (next() * 60.0) as i32 - 30;
                        let z = (next() - 0.5) * 6.0;
                        let c2c = if next() < 0.3 { 0.0 } else { 0.01 };
                        let a = apply_update(g, n, &c, c2c, law, z);
                        let b = apply_update_linear(g, n, &c, c2c, law, z);
                        assert_eq!(a.to_bits(), b.to_bits(), "g {g} n {n} z {z} {law:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn saturates_at_both_ends() {
        let c = curve(2.4, -4.88, 97, 12.5);
        assert_eq!(apply_pulses(c.g_min, 1000, &c, 0.0, 0.0), 1.0);
        assert_eq!(apply_pulses(1.0, -1000, &c, 0.0, 0.0), c.g_min);
    }
}
