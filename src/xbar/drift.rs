//! Conductance drift: the effective conductance of a cell read at time t after programming.
//!
//! G(t) = G(t0) (t / t0)^(-nu_i), t0 = 1 s (no drift for t <= 1), with a per-device exponent
//!
//!   nu_i = max(0, nu + nu_state (1/2 - y) + nu_d2d z_i),   y = (g - g_min) / (1 - g_min),
//!
//! where `nu` is the mean exponent of a mid-range cell, `nu_state` how much faster a cell near
//! G_min drifts than one near G_max (PCM: the more amorphous, low-conductance state drifts more;
//! Joshi et al., Nat. Commun. 11, 2473 (2020) fit nu from about 0.1 at low to 0.05 at high
//! conductance), `nu_d2d` the device-to-device spread and z_i ~ N(0, 1) frozen per cell (draw
//! `Drift` `[cell, 0, 0, 0]`). The state is the programmed one (before d2d and stuck).
//!
//! Per-read noise grows with time as low-frequency noise accumulates. PCM read noise has a 1/f
//! spectrum; its variance integrated over the band from 1/t to the read bandwidth grows as ln t,
//! so sigma grows as sqrt(ln t) (the form of the PCM statistical model of Nandakumar et al.,
//! J. Appl. Phys. 124, 152135 (2018), used by Joshi et al., Nat. Commun. 11, 2473 (2020):
//! sigma(t) proportional to sqrt(ln((t + t_read) / (2 t_read)))). Relative to the noise at t0:
//! read_noise(t) = read_noise sqrt(1 + read_noise_growth ln(t / t0)),
//! read_noise_growth being the relative variance added per e-fold of time.
//!
//! Global drift compensation, which undoes the common decay in the ADC's gain, is
//! `drift_compensation`.
//!
//! Every function here runs in f32 except ln t (f64, then cast), so the GPU's effective
//! conductance shader (`shaders/xbar_eff.wgsl`) computes the same numbers up to its `exp`.

use crate::config::Drift;
use crate::rng::Purpose;

use super::draws::{normal_at, stream_key};
use super::knobs::Knobs;

/// The frozen per-cell deviates z_i of one instance of a layer (draw `Drift`
/// `[cell, 0, 0, 0]`). One implementation for the reference read, the CPU fast path's frozen
/// state and the GPU's cell words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deviates {
    key: [u32; 2],
}

impl Deviates {
    /// The deviates of one (instance, layer), `None` when every cell drifts alike (no per-cell
    /// exponent at this read time, `per_cell`).
    pub fn new(d: &Drift, knobs: &Knobs, instance: u32, layer: u32) -> Option<Deviates> {
        per_cell(d).then(|| Deviates::always(knobs, instance, layer))
    }

    /// The deviates whatever the read time (the fast path freezes them once per programming).
    pub fn always(knobs: &Knobs, instance: u32, layer: u32) -> Deviates {
        Deviates {
            key: stream_key(knobs.seed, Purpose::Drift, instance, layer),
        }
    }

    /// z_i of cell `idx`.
    #[inline]
    pub fn z(&self, idx: usize) -> f32 {
        normal_at(self.key, [idx as u32, 0, 0, 0])
    }
}

/// Whether each cell has its own exponent at this read time (drift active, not uniform).
pub fn per_cell(d: &Drift) -> bool {
    active(d) && !uniform(d)
}

/// Whether drift changes anything at this read time.
pub fn active(d: &Drift) -> bool {
    d.t > 1.0 && (d.nu > 0.0 || d.nu_state != 0.0 || d.nu_d2d > 0.0)
}

/// Whether every cell drifts with the same exponent (a single global factor t^(-nu)).
pub fn uniform(d: &Drift) -> bool {
    d.nu_state == 0.0 && d.nu_d2d == 0.0
}

/// ln(t / t0) as f32; 0 when drift is off.
pub fn ln_t(d: &Drift) -> f32 {
    if active(d) {
        d.t.ln() as f32
    } else {
        0.0
    }
}

/// The global factor t^(-nu) of a uniform drift (f64 power, cast), 1 when off.
pub fn global_factor(d: &Drift) -> f32 {
    if active(d) {
        d.t.powf(-d.nu) as f32
    } else {
        1.0
    }
}

/// The drift factor of one cell with programmed normalised conductance `g`, frozen normal `z`.
/// A uniform drift returns [`global_factor`] exactly.
#[inline]
pub fn factor(g: f32, g_min: f32, z: f32, d: &Drift) -> f32 {
    if !active(d) {
        return 1.0;
    }
    if uniform(d) {
        return global_factor(d);
    }
    let y = (g - g_min) / (1.0 - g_min);
    let nu = (d.nu as f32 + d.nu_state as f32 * (0.5 - y) + d.nu_d2d as f32 * z).max(0.0);
    (-nu * ln_t(d)).exp()
}

/// Per-read relative noise at the read time: read_noise sqrt(1 + read_noise_growth ln t).
pub fn read_noise_at(read_noise: f32, d: &Drift) -> f32 {
    read_noise * (1.0 + d.read_noise_growth as f32 * ln_t(d)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(nu: f64, nu_state: f64, nu_d2d: f64, t: f64) -> Drift {
        Drift {
            nu,
            t,
            nu_state,
            nu_d2d,
            ..Drift::default()
        }
    }

    #[test]
    fn closed_forms() {
        // Uniform: t^(-nu).
        let d = drift(0.05, 0.0, 0.0, 1e4);
        assert_eq!(factor(0.3, 0.01, 1.7, &d), 1e4f64.powf(-0.05) as f32);
        // No drift at t = 1 whatever the exponents.
        assert_eq!(factor(0.3, 0.01, 1.7, &drift(0.05, 0.1, 0.02, 1.0)), 1.0);
        // State dependence: a G_min cell drifts with nu + nu_state / 2, a G_max one with
        // nu - nu_state / 2.
        let d = drift(0.075, 0.05, 0.0, 1e6);
        let lo = factor(0.01, 0.01, 0.0, &d) as f64;
        let hi = factor(1.0, 0.01, 0.0, &d) as f64;
        assert!((lo - 1e6f64.powf(-0.1)).abs() < 1e-6, "{lo}");
        assert!((hi - 1e6f64.powf(-0.05)).abs() < 1e-6, "{hi}");
        // Spread: z shifts the exponent by nu_d2d z; exponents never go negative.
        let d = drift(0.05, 0.0, 0.02, 1e3);
        let f = factor(0.5, 0.0, 1.0, &d) as f64;
        assert!((f - 1e3f64.powf(-0.07)).abs() < 1e-6, "{f}");
        assert_eq!(factor(0.5, 0.0, -10.0, &d), 1.0);
        // Read-noise variance grows with ln t (1/f noise).
        let d = Drift {
            read_noise_growth: 0.1,
            ..drift(0.05, 0.0, 0.0, 100.0)
        };
        let r = read_noise_at(0.02, &d) as f64;
        assert!(
            (r - 0.02 * (1.0 + 0.1 * 100f64.ln()).sqrt()).abs() < 1e-7,
            "{r}"
        );
        // Variance linear in ln t: equal increments per decade.
        let v = |t: f64| (read_noise_at(1.0, &Drift { t, ..d.clone() }) as f64).powi(2);
        assert!(((v(1e4) - v(1e2)) - (v(1e2) - v(1.0))).abs() < 1e-5);
        assert_eq!(
            read_noise_at(
                0.02,
                &Drift {
                    t: 1.0,
                    ..d.clone()
                }
            ),
            0.02
        );
    }
}
