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

/// The mode switch is consistent with the rest of the experiment: `[wage]` only with
/// `train.mode = "neurosim"`, and that mode only for what NeuroSim's training loop models
/// (a ReLU MLP under backpropagation, squared-error loss, a device without read-side effects).
pub fn check_mode(cfg: &super::ExperimentConfig) -> Result<(), ConfigError> {
    use crate::backend::{Activation, LossKind};
    let neurosim = cfg.train.mode == TrainMode::Neurosim;
    check(
        "wage",
        "a [wage] table",
        neurosim || cfg.wage.is_none(),
        "only with train.mode = \"neurosim\"",
    )?;
    if !neurosim {
        return Ok(());
    }
    let mode = "with train.mode = \"neurosim\"";
    if let Some(w) = &cfg.wage {
        w.validate()?;
    }
    check(
        "array",
        "an [array] table",
        cfg.array.is_none(),
        &format!("absent {mode} (its training loop is digital: no ADC, no array read)"),
    )?;
    let Some(dev) = &cfg.device else {
        return Err(ConfigError::Parse(
            "train.mode = \"neurosim\" programs its weight updates on a device: add [device] \
             (e.g. preset = \"fefet_symmetric\", NeuroSim V2.1's default)"
                .into(),
        ));
    };
    if let Some(a) = &cfg.network.arch {
        let fc_only = crate::nn::arch::parse(a)?
            .iter()
            .all(|s| matches!(s, crate::nn::arch::LayerSpec::Fc { .. }));
        check(
            "network.arch",
            a,
            fc_only,
            &format!("fully connected layers only {mode}"),
        )?;
    }
    check(
        "network.activation",
        format!("{:?}", cfg.network.activation).to_lowercase(),
        cfg.network.activation == Activation::Relu,
        &format!("\"relu\" {mode}"),
    )?;
    check(
        "train.rule",
        cfg.train.rule,
        cfg.train.rule == super::Rule::Bp,
        &format!("\"bp\" {mode}"),
    )?;
    check(
        "train.loss",
        format!("{:?}", cfg.train.loss).to_lowercase(),
        cfg.train.loss == LossKind::Mse,
        &format!("\"mse\" {mode} (NeuroSim's squared-error loss)"),
    )?;
    check(
        "train.last_layer_only",
        cfg.train.last_layer_only,
        !cfg.train.last_layer_only,
        &format!("false {mode}"),
    )?;
    let o = &cfg.optimizer;
    check(
        "optimizer.nesterov",
        o.nesterov,
        !o.nesterov,
        &format!("false {mode}"),
    )?;
    check(
        "optimizer.weight_decay",
        o.weight_decay,
        o.weight_decay == 0.0,
        &format!("0 {mode}"),
    )?;
    check(
        "device.levels",
        dev.levels,
        (2..=65536).contains(&dev.levels),
        "2..=65536",
    )?;
    for (name, v) in [("nl_ltp", dev.nl_ltp), ("nl_ltd", dev.nl_ltd)] {
        check(&format!("device.{name}"), v, v.abs() <= 9.0, "|NL| <= 9")?;
    }
    check(
        "device.c2c",
        dev.c2c,
        (0.0..=1.0).contains(&dev.c2c),
        "0..=1",
    )?;
    // Effects NeuroSim's training loop does not model: refuse rather than silently ignore.
    for (name, v) in [
        ("d2d", dev.d2d),
        ("nl_d2d", dev.nl_d2d),
        ("read_noise", dev.read_noise),
        ("output_noise", dev.output_noise),
        ("stuck_on", dev.stuck_on),
        ("stuck_off", dev.stuck_off),
        ("drift.nu", dev.drift.nu),
    ] {
        let hint = if name == "nl_d2d" {
            " (the NL spread of this mode is wage.nl_spread)"
        } else {
            ""
        };
        check(
            &format!("device.{name}"),
            v,
            v == 0.0,
            &format!("0 {mode}: its training loop does not model it{hint}"),
        )?;
    }
    check(
        "device.set_only",
        dev.set_only,
        !dev.set_only,
        &format!("false {mode}"),
    )
}
