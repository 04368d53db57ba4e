//! Global drift compensation (`drift.compensate`): a calibration read with every input on gives
//! the layer's summed current at t0 and at t, over its data cells, and the ADC's conversion gain
//! is multiplied by
//!
//!   alpha = sum G(t0) / sum G(t)   (`adc::Adc`: inv_lsb = alpha / (unit * step)),
//!
//! so the codes see currents at their t0 scale. The sums run over the effective conductances
//! (`effective`), stuck cells and d2d included, as the read sees them, in f64. A global factor
//! cannot undo the per-device spread or the state dependence (`drift`), only the common decay.

use super::direction::Direction;
use super::drift;
use super::effective;
use super::geometry::geometry;
use super::knobs::Knobs;
use super::mapping::LayerCells;
use crate::config::Xbar;

/// Sets `layer.drift_gain` from a calibration read: alpha = sum G_eff(t0) / sum G_eff(t) over
/// the data cells (stuck cells and d2d included, as the read sees them); 1 without
/// `drift.compensate`.
pub fn calibrate_gain(layer: &mut LayerCells, cfg: &Xbar, knobs: &Knobs) {
    layer.drift_gain = 1.0;
    if !cfg.device.drift.compensate || !drift::active(&cfg.device.drift) {
        return;
    }
    let geo = geometry(layer, Direction::Forward, cfg);
    let data = layer.sets() * layer.fan_out * layer.slices * geo.lines;
    let mut fresh = cfg.clone();
    fresh.device.drift = fresh.device.drift.at(1.0);
    let (now, _) = effective::reference(layer, Direction::Forward, &geo, cfg, knobs);
    let (then, _) = effective::reference(layer, Direction::Forward, &geo, &fresh, knobs);
    layer.drift_gain = compensation(
        then[..data]
            .iter()
            .copied()
            .zip(now[..data].iter().copied()),
    );
}

/// alpha = sum g0 / sum g(t) over pairs (conductance at t0, at t); 1 when the sum at t is 0.
pub fn compensation(pairs: impl Iterator<Item = (f32, f32)>) -> f32 {
    let (mut s0, mut st) = (0f64, 0f64);
    for (a, b) in pairs {
        s0 += a as f64;
        st += b as f64;
    }
    if st > 0.0 {
        (s0 / st) as f32
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensation_is_the_ratio_of_sums() {
        let a = compensation([(1.0, 0.5), (2.0, 1.5)].into_iter());
        assert_eq!(a, 1.5);
        assert_eq!(compensation([(1.0, 0.0)].into_iter()), 1.0);
    }
}
