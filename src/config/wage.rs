//! The training mode switch and the settings of the NeuroSim-V2-compatible mode: WAGE
//! quantization (Wu et al., ICLR 2018) of weights, activations, errors and gradients with the
//! device update law of DNN+NeuroSim V2 (Peng et al., 2020). See docs/neurosim-mode.md.

use serde::{Deserialize, Serialize};

use super::error::{check, ConfigError};

/// How a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainMode {
    /// Float training, or in-situ training on simulated crossbars when `[array]` is given.
    #[default]
    Standard,
    /// NeuroSim V2-compatible: WAGE-quantized digital arithmetic for forward and backward, the
    /// weight update as pulses on the `[device]` (nonlinearity, levels, c2c), no ADC.
    Neurosim,
}

/// Bit widths and constants of the NeuroSim-compatible mode (`[wage]`); the defaults are
/// NeuroSim V2.1's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WageConfig {
    /// Weight precision: weights live on a grid of 2^(1-b) in [-1, 1].
    pub weight_bits: u32,
    /// Activation precision of every hidden layer's output.
    pub activation_bits: u32,
    /// Error precision (the back-propagated signals, shift-normalised per tensor).
    pub error_bits: u32,
    /// Gradient precision: one stochastically rounded update step is 2^(1-b).
    pub gradient_bits: u32,
    /// The velocity is `optimizer.momentum * v + gradient_gain * g` (NeuroSim's alpha).
    pub gradient_gain: f64,
    /// Smallest initial weight limit, in units of one weight step 2^(1-weight_bits): weights start
    /// uniform in +-max(init_beta 2^(1-weight_bits), sqrt(3 / fan_in)) (WAGE's beta; NeuroSim
    /// V2.1 uses 24 with 5-bit weights).
    pub init_beta: f64,
    /// Device-to-device spread (standard deviation) of the nonlinearity labels, one draw per cell
    /// shared by potentiation and depression (NeuroSim's d2dVari).
    pub nl_spread: f64,
}

impl Default for WageConfig {
    fn default() -> Self {
        Self {
            weight_bits: 5,
            activation_bits: 8,
            error_bits: 8,
            gradient_bits: 5,
            gradient_gain: 0.1,
            init_beta: 24.0,
            nl_spread: 0.0,
        }
    }
}

impl WageConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, v) in [
            ("weight_bits", self.weight_bits),
            ("activation_bits", self.activation_bits),
            ("error_bits", self.error_bits),
            ("gradient_bits", self.gradient_bits),
        ] {
            check(&format!("wage.{name}"), v, (2..=15).contains(&v), "2..=15")?;
        }
        check(
            "wage.gradient_gain",
            self.gradient_gain,
            self.gradient_gain > 0.0 && self.gradient_gain.is_finite(),
            "> 0",
        )?;
        check(
            "wage.init_beta",
            self.init_beta,
            self.init_beta > 0.0 && self.init_beta <= 1e6,
            "(0, 1e6]",
        )?;
        check(
            "wage.nl_spread",
            self.nl_spread,
            (0.0..=9.0).contains(&self.nl_spread),
            "0..=9",
        )
    }
}
