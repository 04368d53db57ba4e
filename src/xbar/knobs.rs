//! Per-instance scalar settings: what may differ between the P chips of a population.

use crate::config::DeviceConfig;

/// Continuous knobs of one instance; everything shape-changing stays in the configs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    /// Write noise, units of (G_max - G_min) per sqrt(pulse).
    pub c2c: f32,
    /// Relative frozen conductance spread.
    pub d2d: f32,
    /// Relative frozen spread of the NL shape A.
    pub nl_d2d: f32,
    /// Device-to-device spread of the up/down asymmetry (`device::CellCurve::with_spread`).
    pub up_down_d2d: f32,
    /// Device-to-device relative spread of the conductance bounds.
    pub bounds_d2d: f32,
    /// Relative per-read conductance noise.
    pub read_noise: f32,
    /// Per-conversion noise in ADC LSBs.
    pub output_noise: f32,
    pub nl_ltp: f32,
    pub nl_ltd: f32,
    /// Learning rate used by programming.
    pub lr: f32,
    pub seed: u64,
}

impl Knobs {
    /// The device's values, with a learning rate and seed.
    pub fn from_device(dev: &DeviceConfig, lr: f32, seed: u64) -> Self {
        Self {
            c2c: dev.c2c as f32,
            d2d: dev.d2d as f32,
            nl_d2d: dev.nl_d2d as f32,
            up_down_d2d: dev.up_down_d2d as f32,
            bounds_d2d: dev.bounds_d2d as f32,
            read_noise: dev.read_noise as f32,
            output_noise: dev.output_noise as f32,
            nl_ltp: dev.nl_ltp as f32,
            nl_ltd: dev.nl_ltd as f32,
            lr,
            seed,
        }
    }
}
