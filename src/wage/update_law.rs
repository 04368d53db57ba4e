//! DNN+NeuroSim V2's weight-update law (Peng, Huang, Jiang, Lu, Yu, "DNN+NeuroSim V2.0", 2020):
//! the digital update becomes a pulse count on a nonlinear device, and what the device does with
//! those pulses, rounded stochastically to the gradient grid, is the weight change.
//!
//! In weight units (w in [-1, 1] over P = `levels` pulses) a device curve with signed shape A
//! (pulses) is w(p) = B (1 - e^(-p/A)) - 1 with B = 2 / (1 - e^(-P/A)), so w(0) = -1 and
//! w(P) = 1; its inverse is p(w) = -A ln(1 - (w + 1) / B). A > 0 is a saturating curve, A < 0 the
//! convex one, A = +-inf (NL = 0) the straight line. Potentiation moves along the NL_LTP curve,
//! depression along the NL_LTD curve; with a positive NL_LTD that is a saturating curve too, so
//! depression retraces the potentiation shape (near-symmetric device), with a negative one it is
//! the mirrored, convex curve (asymmetric device). A = a(|NL|) P sign(NL), a from
//! [`crate::xbar::nl::shape_from_nl`].
//!
//! One update of a weight w with normalised step g (velocity / shift(max |velocity|) times the
//! learning rate):
//! 1. n = -round(g P / 2) pulses (positive: potentiation), at most `max_pulses` in magnitude;
//! 2. w_dev = w(p(w) + n) on the curve of the pulse sign, clipped as weights are (C);
//! 3. k = floor((w - w_dev) + u), u ~ U(0, 1) (stochastic rounding to the gradient grid);
//! 4. w <- C(w - k sigma(b_g) + [k != 0] N(0, 2 c2c)): cycle-to-cycle noise of c2c times the
//!    range once per update that moves the cell.

use super::quant::{clip, sigma, stochastic_round};
use crate::config::DeviceConfig;
use crate::rng::{key, normal, philox4x32_10, uniform, Purpose};
use crate::xbar::nl::shape_from_nl;

/// One direction's device curve in weight units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curve {
    /// Signed shape in pulses; infinite for a linear device.
    a: f32,
    b: f32,
    levels: f32,
}

impl Curve {
    /// The curve of nonlinearity label `nl` over `levels` pulses.
    pub fn from_nl(nl: f64, levels: u32) -> Curve {
        let p = levels as f64;
        // A linear device has no shape: A = inf, and `weight`, `pulse` take the straight line.
        let a = shape_from_nl(nl).map_or(f64::INFINITY, |a| a * p * nl.signum());
        Curve {
            a: a as f32,
            b: (2.0 / -(-p / a).exp_m1()) as f32,
            levels: levels as f32,
        }
    }

    fn linear(&self) -> bool {
        self.a.is_infinite()
    }

    /// w(p).
    pub fn weight(&self, p: f32) -> f32 {
        if self.linear() {
            2.0 * p / self.levels - 1.0
        } else {
            -self.b * (-p / self.a).exp_m1() - 1.0
        }
    }

    /// p(w), the inverse of [`Curve::weight`]; a weight beyond the curve's asymptote (possible
    /// only for weights outside [-1, 1], i.e. before the first update clips them) maps to the
    /// curve's end instead of NaN.
    pub fn pulse(&self, w: f32) -> f32 {
        if self.linear() {
            return (w + 1.0) * self.levels / 2.0;
        }
        let arg = 1.0 - (w + 1.0) / self.b;
        if arg > 0.0 {
            -self.a * arg.ln()
        } else {
            -self.a * f32::MIN_POSITIVE.ln()
        }
    }
}

/// The curves of one layer's cells: shared, or one pair per cell (NL spread).
#[derive(Debug, Clone)]
pub struct LayerCurves {
    ltp: Vec<Curve>,
    ltd: Vec<Curve>,
}

impl LayerCurves {
    /// Every cell with the nominal labels.
    pub fn uniform(nl_ltp: f64, nl_ltd: f64, levels: u32) -> LayerCurves {
        LayerCurves {
            ltp: vec![Curve::from_nl(nl_ltp, levels)],
            ltd: vec![Curve::from_nl(nl_ltd, levels)],
        }
    }

    /// `n` cells whose labels are `dev`'s plus one N(0, spread) draw per cell shared by both
    /// directions (NeuroSim's d2dVari). Labels are taken on NeuroSim's 0.01 grid, |NL| at most
    /// 9; a draw landing exactly on 0 is a linear device.
    pub fn spread(dev: &DeviceConfig, spread: f64, n: usize, seed: u64, layer: u32) -> LayerCurves {
        let (nl_ltp, nl_ltd, levels) = (dev.nl_ltp, dev.nl_ltd, dev.levels);
        if spread == 0.0 {
            return Self::uniform(nl_ltp, nl_ltd, levels);
        }
        // Solving for A once per 0.01 step of |NL| keeps this cheap for large layers.
        let grid: Vec<(Curve, Curve)> = (0..=900)
            .map(|i| {
                let nl = i as f64 / 100.0;
                (Curve::from_nl(nl, levels), Curve::from_nl(-nl, levels))
            })
            .collect();
        let pick = |nl: f64| {
            let i = (nl.abs() * 100.0).round().min(900.0) as usize;
            if nl >= 0.0 {
                grid[i].0
            } else {
                grid[i].1
            }
        };
        let k = key(seed, Purpose::NlD2d, layer);
        let (mut ltp, mut ltd) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let w = philox4x32_10([i as u32, 0, 0, 0], k);
            let d = spread * normal(w[0], w[1]) as f64;
            ltp.push(pick(nl_ltp + d));
            ltd.push(pick(nl_ltd + d));
        }
        LayerCurves { ltp, ltd }
    }

    fn get(&self, i: usize) -> (&Curve, &Curve) {
        if self.ltp.len() == 1 {
            (&self.ltp[0], &self.ltd[0])
        } else {
            (&self.ltp[i], &self.ltd[i])
        }
    }
}

/// The constants of one run's update law.
#[derive(Debug, Clone, Copy)]
pub struct UpdateLaw {
    pub levels: u32,
    pub max_pulses: u32,
    pub weight_bits: u32,
    pub gradient_bits: u32,
    /// Cycle-to-cycle noise, a fraction of the weight range (2) per update.
    pub c2c: f32,
}

/// Where an update's random draws come from: the instance's seed, the layer, the step.
#[derive(Debug, Clone, Copy)]
pub struct Draws {
    pub seed: u64,
    pub layer: u32,
    pub step: u32,
}

/// The device's response to `n` pulses (positive: potentiation) from weight `w`, clipped to the
/// weight range.
pub fn device_response(w: f32, n: f32, ltp: &Curve, ltd: &Curve, weight_bits: u32) -> f32 {
    if n == 0.0 {
        return clip(w, weight_bits);
    }
    let c = if n > 0.0 { ltp } else { ltd };
    clip(c.weight(c.pulse(w) + n), weight_bits)
}

/// Updates weights `w` in place from the normalised step `g` (already times the learning rate).
pub fn update_layer(w: &mut [f32], g: &[f32], curves: &LayerCurves, law: &UpdateLaw, draws: Draws) {
    let half = law.levels as f32 / 2.0;
    let cap = law.max_pulses as f32;
    let step = sigma(law.gradient_bits);
    let noise = 2.0 * law.c2c;
    let k_round = key(draws.seed, Purpose::Rounding, draws.layer);
    let k_c2c = key(draws.seed, Purpose::C2c, draws.layer);
    for (i, (wi, gi)) in w.iter_mut().zip(g).enumerate() {
        let n = (-(gi * half).round_ties_even()).clamp(-cap, cap);
        let (ltp, ltd) = curves.get(i);
        let target = device_response(*wi, n, ltp, ltd, law.weight_bits);
        let r = philox4x32_10([i as u32, draws.step, 0, 0], k_round);
        let k = stochastic_round(*wi - target, uniform(r[0]));
        let mut next = *wi - k * step;
        if k != 0.0 && noise > 0.0 {
            let z = philox4x32_10([i as u32, draws.step, 0, 0], k_c2c);
            next += noise * normal(z[0], z[1]);
        }
        *wi = clip(next, law.weight_bits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn law(c2c: f32) -> UpdateLaw {
        UpdateLaw {
            levels: 32,
            max_pulses: 31,
            weight_bits: 5,
            gradient_bits: 5,
            c2c,
        }
    }

    #[test]
    fn curves_span_the_range_and_invert() {
        for nl in [0.0, 1.75, 1.46, -1.46, 4.88, -9.0] {
            let c = Curve::from_nl(nl, 32);
            assert!((c.weight(0.0) + 1.0).abs() < 1e-5, "NL {nl}");
            assert!((c.weight(32.0) - 1.0).abs() < 1e-5, "NL {nl}");
            for i in 0..=32 {
                let p = i as f32;
                let w = c.weight(p);
                assert!((c.weight(c.pulse(w)) - w).abs() < 1e-5, "NL {nl} p {p}");
                // Pulses are well conditioned unless the curve is nearly flat (|NL| large).
                if nl.abs() <= 2.0 {
                    assert!((c.pulse(w) - p).abs() < 1e-3, "NL {nl} p {p}");
                }
            }
        }
        // Saturating for positive NL: the first pulse from the bottom moves more than the last.
        let c = Curve::from_nl(1.75, 32);
        assert!(c.weight(1.0) - c.weight(0.0) > 2.0 * (c.weight(32.0) - c.weight(31.0)));
        // NL 1.75: the midpoint in pulses sits 0.098995 * 1.75 * 2 above the line at most.
        let gap = (0..=3200)
            .map(|i| {
                let p = i as f32 / 100.0;
                (c.weight(p) + 1.0) / 2.0 - p / 32.0
            })
            .fold(0.0f32, f32::max);
        assert!((gap - 0.098995 * 1.75).abs() < 1e-3, "gap {gap}");
    }

    #[test]
    fn linear_device_moves_by_the_pulse_count() {
        let c = Curve::from_nl(0.0, 32);
        // 3 pulses of a 32-level linear device: 3 * 2 / 32.
        assert!((device_response(0.0, 3.0, &c, &c, 5) - 0.1875).abs() < 1e-6);
        assert!((device_response(0.5, -4.0, &c, &c, 5) - 0.25).abs() < 1e-6);
        // Clipped at one step inside the range.
        assert_eq!(device_response(0.9, 10.0, &c, &c, 5), 0.9375);
    }

    #[test]
    fn symmetric_device_retraces_asymmetric_does_not() {
        let ltp = Curve::from_nl(1.46, 32);
        let sym = Curve::from_nl(1.46, 32);
        let asym = Curve::from_nl(-1.46, 32);
        for w0 in [-0.6f32, 0.0, 0.5] {
            let up = device_response(w0, 5.0, &ltp, &sym, 5);
            let back = device_response(up, -5.0, &ltp, &sym, 5);
            assert!((back - w0).abs() < 1e-4, "{w0}: {back}");
            let back = device_response(up, -5.0, &ltp, &asym, 5);
            assert!((back - w0).abs() > 0.05, "{w0}: {back}");
        }
        // The mirrored curve drives up/down pulse pairs towards its symmetry point: from the
        // top a down pulse moves more than an up pulse from the same state does.
        let w = 0.6;
        let down = w - device_response(w, -1.0, &ltp, &asym, 5);
        let up = device_response(w, 1.0, &ltp, &asym, 5) - w;
        assert!(down > up, "down {down} up {up}");
    }

    #[test]
    fn update_is_the_stochastically_rounded_device_step() {
        let curves = LayerCurves::uniform(0.0, 0.0, 32);
        // g = -0.25 -> +4 pulses -> +0.25 on the device -> k = floor(-0.25 + u) = -1 with
        // probability 0.25: the weight moves up one gradient step (1/16) a quarter of the time.
        let n = 20000;
        let mut w = vec![0.0f32; n];
        let g = vec![-0.25f32; n];
        let d = Draws {
            seed: 3,
            layer: 0,
            step: 0,
        };
        update_layer(&mut w, &g, &curves, &law(0.0), d);
        let up = w.iter().filter(|v| **v == 0.0625).count();
        assert_eq!(up + w.iter().filter(|v| **v == 0.0).count(), n);
        assert!((up as f64 / n as f64 - 0.25).abs() < 0.01, "{up}");
        // c2c only on cells that moved, sigma = 2 * c2c.
        let mut w = vec![0.0f32; n];
        update_layer(&mut w, &g, &curves, &law(0.01), d);
        let moved: Vec<f32> = w
            .iter()
            .filter(|v| **v != 0.0)
            .map(|v| v - 0.0625)
            .collect();
        assert_eq!(moved.len(), up);
        let sd = (moved.iter().map(|v| v * v).sum::<f32>() / moved.len() as f32).sqrt();
        assert!((sd - 0.02).abs() < 0.002, "{sd}");
        // Reproducible.
        let mut w2 = vec![0.0f32; n];
        update_layer(&mut w2, &g, &curves, &law(0.01), d);
        assert_eq!(w, w2);
    }

    #[test]
    fn spread_draws_are_finite_and_centered() {
        let dev = DeviceConfig {
            nl_ltp: 1.75,
            nl_ltd: 1.46,
            levels: 32,
            ..Default::default()
        };
        let c = LayerCurves::spread(&dev, 0.5, 5000, 7, 1);
        assert_eq!(c.ltp.len(), 5000);
        for i in 0..5000 {
            let (a, b) = c.get(i);
            for cv in [a, b] {
                assert!(cv.weight(16.0).is_finite() && cv.pulse(0.3).is_finite());
            }
        }
        let nominal = Curve::from_nl(1.75, 32).weight(16.0);
        let mean = (0..5000).map(|i| c.get(i).0.weight(16.0)).sum::<f32>() / 5000.0;
        assert!((mean - nominal).abs() < 0.02, "{mean} vs {nominal}");
    }
}
