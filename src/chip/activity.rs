//! Activity that drives dynamic energy: measured by the crossbar simulation, or a typical estimate.

use serde::{Deserialize, Serialize};

use crate::config::DeviceConfig;
use crate::nn::arch::LayerShape;

/// Per layer, per image (reads) and per training step (writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerActivity {
    /// Mean fraction of forward input bits that are 1 in a read cycle, in [0, 1].
    pub input_density: f64,
    /// Mean fraction of error input bits that are 1 in a backward read cycle (per sign pass).
    pub error_density: f64,
    /// Forward ADC conversions per image; 0 = not counted (the structural count is used).
    pub adc_conversions: f64,
    /// Forward conversions per image that saturated the ADC.
    pub clipped_conversions: f64,
    /// Programming pulses per training step, summed over the cells of one copy of the layer's
    /// matrix (sum of |n|); replicated copies receive the same pulses.
    pub write_pulses: f64,
    /// Mean over rows of the largest |n| in the row in one step: the length of a row's
    /// potentiation and depression windows.
    pub max_pulses_per_row: f64,
}

/// Bit density of 8-bit image pixels (roughly uniform codes: half the bits are 1).
pub const TYPICAL_INPUT_DENSITY_FIRST: f64 = 0.5;
/// Bit density of post-ReLU activations: about half the values are 0 and the rest have about
/// half of their bits set (NeuroSim's VGG-8 traces are of this order).
pub const TYPICAL_INPUT_DENSITY_HIDDEN: f64 = 0.25;
/// Bit density of each sign pass of a signed error: half the values fall in the other pass.
pub const TYPICAL_ERROR_DENSITY: f64 = 0.25;
/// Mean |pulses| per cell per step: |dw| per step is a few percent of the 1-pulse step
/// (range / levels) for typical learning rates, and stochastic rounding keeps that mean.
pub const TYPICAL_PULSES_PER_CELL: f64 = 0.05;
/// Mean normalised conductance level of stored weights (offset-mapped weights cluster mid-range).
pub const TYPICAL_WEIGHT_LEVEL: f64 = 0.5;

/// The typical estimate for `layers`. Write windows: a row's window is sized for the largest
/// update the programming scheme allows, min(levels, max_pulses_per_update), since the
/// per-row maximum is not known before programming.
pub fn typical(
    layers: &[LayerShape],
    device: &DeviceConfig,
    cells_per_layer: &[f64],
) -> Vec<LayerActivity> {
    layers
        .iter()
        .zip(cells_per_layer)
        .enumerate()
        .map(|(i, (_, &cells))| LayerActivity {
            input_density: if i == 0 {
                TYPICAL_INPUT_DENSITY_FIRST
            } else {
                TYPICAL_INPUT_DENSITY_HIDDEN
            },
            error_density: TYPICAL_ERROR_DENSITY,
            adc_conversions: 0.0,
            clipped_conversions: 0.0,
            write_pulses: TYPICAL_PULSES_PER_CELL * cells,
            max_pulses_per_row: device.levels.min(device.max_pulses_per_update) as f64,
        })
        .collect()
}

impl LayerActivity {
    /// Checks ranges; `layer` names the layer in messages.
    pub fn validate(&self, layer: &str) -> Result<(), String> {
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        let nonneg = |v: f64| v >= 0.0 && v.is_finite();
        let checks = [
            (
                "input_density",
                self.input_density,
                unit(self.input_density),
            ),
            (
                "error_density",
                self.error_density,
                unit(self.error_density),
            ),
            (
                "adc_conversions",
                self.adc_conversions,
                nonneg(self.adc_conversions),
            ),
            (
                "clipped_conversions",
                self.clipped_conversions,
                nonneg(self.clipped_conversions)
                    && (self.adc_conversions == 0.0
                        || self.clipped_conversions <= self.adc_conversions),
            ),
            ("write_pulses", self.write_pulses, nonneg(self.write_pulses)),
            (
                "max_pulses_per_row",
                self.max_pulses_per_row,
                nonneg(self.max_pulses_per_row),
            ),
        ];
        for (name, v, ok) in checks {
            if !ok {
                return Err(format!(
                    "activity of layer {layer}: {name} = {v} is out of range"
                ));
            }
        }
        Ok(())
    }
}
