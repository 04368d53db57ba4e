//! Whether an experiment fits `train.mode = "neurosim"`.

use super::activation::{Activation, LossKind};
use super::arch::{self, LayerSpec};
use super::error::{check, ConfigError};
use super::experiment::{ExperimentConfig, Rule};
use super::wage::TrainMode;

/// The mode switch is consistent with the rest of the experiment: `[wage]` only with
/// `train.mode = "neurosim"`, and that mode only for what NeuroSim's training loop models
/// (a ReLU MLP under backpropagation, squared-error loss, a device without read-side effects).
pub fn check_mode(cfg: &ExperimentConfig) -> Result<(), ConfigError> {
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
        let fc_only = arch::parse(a)?
            .iter()
            .all(|s| matches!(s, LayerSpec::Fc { .. }));
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
        cfg.train.rule == Rule::Bp,
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
