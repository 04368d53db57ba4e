//! Conductance update of one cell by n programming pulses (physics.md section 4).
//!
//! State is the normalised conductance g = G / G_max in [g_min, 1], g_min = 1 / on_off. The curve
//! works in y = (g - g_min) / (1 - g_min) in [0, 1] and the pulse coordinate x = p / P_max:
//! - potentiation: y = (1 - e^(-x/a)) / (1 - e^(-1/a)), a = A_LTP / P_max;
//! - depression, mirrored: 1 - y = (1 - e^(-(1-x)/a_d)) / (1 - e^(-1/a_d)), a_d = A_LTD / P_max;
//! - linear (a = 0 here, i.e. NL = 0): y = x.
//!
//! The update is f32 throughout, with `exp`, `ln` and short Taylor series only, so a WGSL port
//! computes the same numbers (to f32 rounding). `P_max = levels - 1`: a device with `levels`
//! states moves from G_min to G_max in `levels - 1` pulses.

use super::nl::shape_from_nl;

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
    /// A_LTP / P_max; 0 means linear.
    pub a_ltp: f32,
    /// A_LTD / P_max; 0 means linear.
    pub a_ltd: f32,
    /// G_min / G_max.
    pub g_min: f32,
}

impl CellCurve {
    /// The nominal curve of a device: `levels` states, NL labels solved for A (f64, once).
    pub fn nominal(levels: u32, on_off: f64, nl_ltp: f64, nl_ltd: f64) -> Self {
        let shape = |nl: f64| shape_from_nl(nl).unwrap_or(0.0) as f32;
        Self {
            p_max: (levels.max(2) - 1) as f32,
            a_ltp: shape(nl_ltp),
            a_ltd: shape(nl_ltd),
            g_min: (1.0 / on_off) as f32,
        }
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

/// Normalised conductance after `n` pulses (n > 0 potentiates, n < 0 depresses), then c2c noise
/// N(0, c2c (G_max - G_min) sqrt|n|) from the standard normal `z`, then clipping to [G_min, G_max].
/// `n = 0` leaves the cell untouched (no pulse, no noise).
pub fn apply_pulses(g: f32, n: i32, c: &CellCurve, c2c: f32, z: f32) -> f32 {
    if n == 0 {
        return g;
    }
    let range = 1.0 - c.g_min;
    let y = ((g - c.g_min) / range).clamp(0.0, 1.0);
    let y_new = if n > 0 {
        let p = snap(rise_inv(y, c.a_ltp) * c.p_max);
        rise((p + n as f32).clamp(0.0, c.p_max) / c.p_max, c.a_ltp)
    } else if c.a_ltd == 0.0 {
        // Linear depression in the potentiation coordinate, so a level reached either way has
        // the same f32 value.
        let p = snap(y * c.p_max);
        (p + n as f32).clamp(0.0, c.p_max) / c.p_max
    } else {
        let q = snap(rise_inv(1.0 - y, c.a_ltd) * c.p_max); // pulses from G_max
        1.0 - rise((q - n as f32).clamp(0.0, c.p_max) / c.p_max, c.a_ltd)
    };
    let noisy = c.g_min + y_new * range + c2c * range * (n.unsigned_abs() as f32).sqrt() * z;
    noisy.clamp(c.g_min, 1.0)
}

/// Normalised conductance after p pulses of potentiation from G_min (initial programming).
pub fn g_after_ltp(p: f32, c: &CellCurve) -> f32 {
    c.g_min + rise((p / c.p_max).clamp(0.0, 1.0), c.a_ltp) * (1.0 - c.g_min)
}

/// Potentiation pulse coordinate (real-valued) at which the curve reaches `g`.
pub fn ltp_pulses_at(g: f32, c: &CellCurve) -> f32 {
    let y = ((g - c.g_min) / (1.0 - c.g_min)).clamp(0.0, 1.0);
    rise_inv(y, c.a_ltp) * c.p_max
}

fn snap(p: f32) -> f32 {
    let r = (p + 0.5).floor();
    if (p - r).abs() < SNAP {
        r
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn saturates_at_both_ends() {
        let c = curve(2.4, -4.88, 97, 12.5);
        assert_eq!(apply_pulses(c.g_min, 1000, &c, 0.0, 0.0), 1.0);
        assert_eq!(apply_pulses(1.0, -1000, &c, 0.0, 0.0), c.g_min);
    }
}
