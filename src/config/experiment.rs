//! The experiment file: one TOML document for accuracy simulation and chip cost alike.

use serde::{Deserialize, Serialize};

use super::error::{check, ConfigError};
use super::xbar::{ArrayConfig, DeviceConfig};
use crate::backend::{Activation, LossKind};
use crate::data::DataConfig;

/// Weight initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Uniform with variance 2 / fan_in (ReLU nets).
    He,
    /// Uniform with variance 2 / (fan_in + fan_out) (tanh / sigmoid nets).
    Xavier,
    /// All weights zero (DFA only: its error signals do not pass through the weights).
    Zero,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Hidden layer widths of a multi-layer perceptron (input and output come from the data).
    pub hidden: Vec<usize>,
    /// Layer list such as "C128-C128-M-FC1024-FC10" (used by the chip model); overrides
    /// `hidden` where given.
    pub arch: Option<String>,
    pub activation: Activation,
    pub init: Init,
    /// Input shape [C, H, W]; defaults to the data set's.
    pub input: Option<[usize; 3]>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            hidden: vec![256, 256],
            arch: None,
            activation: Activation::Relu,
            init: Init::He,
            input: None,
        }
    }
}

/// How errors reach the hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Backpropagation: transposed reads, layer by layer from the top.
    Bp,
    /// Direct Feedback Alignment: fixed random projections of the output error, all at once.
    Dfa,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rule::Bp => "BP",
            Rule::Dfa => "DFA",
        })
    }
}

/// DFA feedback matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Independent per layer, uniform in +-1/sqrt(n_l).
    Independent,
    /// One matrix of the widest layer's height; layer l uses its first n_l rows.
    Shared,
    /// Independent, entries +-1/sqrt(n_l) with random sign.
    Sign,
}

/// Which layers of a conv network DFA reaches directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DfaScope {
    /// Every hidden conv and FC layer gets its own projection of the output error.
    All,
    /// Only the hidden FC layers do; the first FC layer's error is backpropagated into the
    /// conv stack.
    FcHead,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub rule: Rule,
    pub epochs: u32,
    pub batch_size: u32,
    pub loss: LossKind,
    pub feedback: Feedback,
    /// Conv networks under DFA: feedback to every layer or to the FC head only.
    pub dfa_scope: DfaScope,
    /// Train only the output layer (the control experiment for DFA).
    pub last_layer_only: bool,
    /// Compute DFA's alignment with the true gradient each epoch.
    pub alignment: bool,
    /// In-situ training: weights of layer l live in [-r_l, r_l] with r_l = this factor times
    /// the layer's He/Xavier initialisation limit.
    pub weight_range: f64,
    /// A run whose mean training loss passes this (or is not finite) has diverged: it stops
    /// and is flagged in the report.
    pub max_loss: f64,
    /// `neurosim`: NeuroSim V2-compatible WAGE training (`[wage]`, docs/neurosim-mode.md).
    pub mode: super::wage::TrainMode,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            rule: Rule::Bp,
            epochs: 10,
            batch_size: 64,
            loss: LossKind::CrossEntropy,
            feedback: Feedback::Independent,
            dfa_scope: DfaScope::All,
            last_layer_only: false,
            alignment: true,
            weight_range: 2.0,
            max_loss: 1e4,
            mode: super::wage::TrainMode::Standard,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerConfig {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    /// Nesterov momentum: step by `g + wd w + momentum v` instead of `v`.
    pub nesterov: bool,
    /// Fractions of `train.epochs` after which the learning rate is multiplied by `lr_decay`
    /// (step schedule); empty keeps it constant.
    pub lr_drops: Vec<f64>,
    pub lr_decay: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 0.0,
            nesterov: false,
            lr_drops: Vec::new(),
            lr_decay: 0.1,
        }
    }
}

impl OptimizerConfig {
    /// The factor on the base learning rate during `epoch` (0-based) of `epochs`: `lr_decay`
    /// to the number of drops at or before the epoch's start.
    pub fn lr_factor(&self, epoch: u32, epochs: u32) -> f64 {
        let drops = self
            .lr_drops
            .iter()
            .filter(|f| epoch as f64 >= **f * epochs as f64)
            .count();
        self.lr_decay.powi(drops as i32)
    }
}

/// One instance of a population: per-instance seed and scalar knobs; unset fields keep the
/// experiment's values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstanceConfig {
    pub seed: Option<u64>,
    pub lr: Option<f64>,
    pub c2c: Option<f64>,
    pub d2d: Option<f64>,
    pub read_noise: Option<f64>,
    pub nl_ltp: Option<f64>,
    pub nl_ltd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    #[serde(default)]
    pub name: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub data: DataConfig,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Present: train and infer on simulated crossbars. Absent: float reference.
    #[serde(default)]
    pub array: Option<ArrayConfig>,
    /// The memory cell, after its preset is resolved.
    #[serde(default)]
    pub device: Option<DeviceConfig>,
    /// Independent instances trained in one dispatch; empty means one instance.
    #[serde(default)]
    pub population: Vec<InstanceConfig>,
    #[serde(default)]
    /// The chip the network runs on (cost model); defaults apply when absent.
    pub chip: Option<crate::chip::ChipConfig>,
    /// PENNI compression (`insitu compress`); defaults apply when absent.
    #[serde(default)]
    pub compress: Option<crate::compress::config::CompressConfig>,
    /// Bit widths of `train.mode = "neurosim"`; NeuroSim V2.1's defaults when absent.
    #[serde(default)]
    pub wage: Option<super::wage::WageConfig>,
}

fn default_seed() -> u64 {
    1
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        toml::from_str("").expect("empty experiment parses")
    }
}

impl ExperimentConfig {
    /// Instances to train (at least one).
    pub fn instances(&self) -> Vec<InstanceConfig> {
        if self.population.is_empty() {
            vec![InstanceConfig::default()]
        } else {
            self.population.clone()
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        // A file source's missing `data.path` is reported when data is loaded, so that
        // shape-only commands (`insitu estimate`) work without the files.
        if self.data.path.is_some() || self.data.source == crate::data::Source::Mnist5k {
            self.data.validate()?;
        }
        self.data.validate_augment(self.network.input)?;
        let n = &self.network;
        check(
            "network.hidden",
            format!("{:?}", n.hidden),
            n.hidden.iter().all(|&h| (1..=65536).contains(&h)),
            "widths in 1..=65536",
        )?;
        self.check_arch()?;
        check(
            "network.init",
            "\"zero\"",
            n.init != Init::Zero || self.train.rule == Rule::Dfa,
            "\"he\" or \"xavier\" with train.rule = \"bp\" (zero init only learns with DFA)",
        )?;
        let t = &self.train;
        check(
            "train.epochs",
            t.epochs,
            (1..=100_000).contains(&t.epochs),
            "1..=100000",
        )?;
        check(
            "train.batch_size",
            t.batch_size,
            (1..=65536).contains(&t.batch_size),
            "1..=65536",
        )?;
        let o = &self.optimizer;
        check("optimizer.lr", o.lr, o.lr > 0.0 && o.lr.is_finite(), "> 0")?;
        check(
            "optimizer.momentum",
            o.momentum,
            (0.0..1.0).contains(&o.momentum),
            "[0, 1)",
        )?;
        check(
            "optimizer.weight_decay",
            o.weight_decay,
            (0.0..1.0).contains(&o.weight_decay),
            "[0, 1)",
        )?;
        check(
            "optimizer.lr_drops",
            format!("{:?}", o.lr_drops),
            o.lr_drops.iter().all(|f| *f > 0.0 && *f < 1.0),
            "fractions of train.epochs in (0, 1)",
        )?;
        check(
            "optimizer.lr_decay",
            o.lr_decay,
            o.lr_decay > 0.0 && o.lr_decay <= 1.0,
            "(0, 1]",
        )?;
        check(
            "optimizer.nesterov",
            o.nesterov,
            !o.nesterov || o.momentum > 0.0,
            "false when optimizer.momentum = 0 (Nesterov needs momentum)",
        )?;
        check(
            "optimizer.lr_drops",
            format!("{:?}", o.lr_drops),
            o.lr_drops.is_empty() || self.array.is_none(),
            "empty with [array] (in-situ training programs cells at a fixed learning rate)",
        )?;
        check(
            "population",
            format!("{} entries", self.population.len()),
            self.population.len() <= 4096,
            "at most 4096 instances",
        )?;
        for (i, inst) in self.population.iter().enumerate() {
            if let Some(lr) = inst.lr {
                check(
                    &format!("population[{i}].lr"),
                    lr,
                    lr > 0.0 && lr.is_finite(),
                    "> 0",
                )?;
            }
            for (name, v) in [
                ("c2c", inst.c2c),
                ("d2d", inst.d2d),
                ("read_noise", inst.read_noise),
            ] {
                if let Some(v) = v {
                    check(
                        &format!("population[{i}].{name}"),
                        v,
                        (0.0..=1.0).contains(&v),
                        "0..=1",
                    )?;
                }
            }
            let knobs = [
                inst.c2c,
                inst.d2d,
                inst.read_noise,
                inst.nl_ltp,
                inst.nl_ltd,
            ];
            check(
                &format!("population[{i}]"),
                "device knobs (c2c, d2d, read_noise, nl_ltp, nl_ltd)",
                self.array.is_some() || knobs.iter().all(Option::is_none),
                "only seed and lr without [array] (device knobs apply to crossbar runs)",
            )?;
            for (name, v) in [("nl_ltp", inst.nl_ltp), ("nl_ltd", inst.nl_ltd)] {
                if let Some(v) = v {
                    check(
                        &format!("population[{i}].{name}"),
                        v,
                        v.abs() <= 9.0,
                        "|NL| <= 9",
                    )?;
                }
            }
        }
        check(
            "train.max_loss",
            t.max_loss,
            t.max_loss > 0.0 && t.max_loss.is_finite(),
            "> 0, finite",
        )?;
        check(
            "train.weight_range",
            t.weight_range,
            t.weight_range > 0.0 && t.weight_range <= 100.0,
            "(0, 100]",
        )?;
        if let Some(c) = &self.chip {
            c.validate()?;
        }
        if let Some(c) = &self.compress {
            c.validate()?;
        }
        super::wage::check_mode(self)?;
        if let Some(a) = &self.array {
            // In-situ training adds its own check (one cell per weight) when it maps weights.
            self.xbar(a).validate(false)?;
        } else if self.device.is_some() && self.train.mode == super::wage::TrainMode::Standard {
            return Err(ConfigError::Parse(
                "[device] is given without [array]: add an [array] section to train on crossbars"
                    .into(),
            ));
        }
        Ok(())
    }

    /// `network.arch` parses (and, with `network.input`, its shapes infer), and an MLP's
    /// weights fit the size limits, so every command refuses a bad network the same way.
    fn check_arch(&self) -> Result<(), ConfigError> {
        let n = &self.network;
        if let Some(a) = &n.arch {
            let specs = crate::nn::arch::parse(a)?;
            if let Some(input) = n.input {
                crate::nn::arch::shapes(&specs, input)?;
            }
            return Ok(());
        }
        let (input, _) = crate::chip::experiment::data_shape(self);
        let p = self.population.len().max(1);
        let mut widths = vec![input.iter().product()];
        widths.extend(&n.hidden);
        for (l, w) in widths.windows(2).enumerate() {
            crate::limits::at_most(
                "network.hidden",
                &format!(
                    "weights of layer {} ({} x {}, {p} instances)",
                    l + 1,
                    w[0],
                    w[1]
                ),
                crate::limits::product(&[w[0], w[1], p]),
                crate::limits::MAX_LAYER_WEIGHTS as u128,
            )?;
        }
        Ok(())
    }

    /// A `network.arch` without convolutions is an MLP: its FC layers but the last (the
    /// classes) become `network.hidden`, so it trains exactly what `hidden` would.
    pub fn normalize(&mut self) {
        let Some(a) = &self.network.arch else {
            return;
        };
        let Ok(specs) = crate::nn::arch::parse(a) else {
            return;
        };
        let fc: Vec<usize> = specs
            .iter()
            .map_while(|s| match s {
                crate::nn::arch::LayerSpec::Fc { out } => Some(*out),
                _ => None,
            })
            .collect();
        if fc.len() == specs.len() {
            self.network.hidden = fc[..fc.len() - 1].to_vec();
        }
    }

    /// The output width a conv-free `network.arch` asks for (its last FC layer).
    pub fn mlp_outputs(&self) -> Option<usize> {
        let specs = crate::nn::arch::parse(self.network.arch.as_deref()?).ok()?;
        match specs.last()? {
            crate::nn::arch::LayerSpec::Fc { out } => Some(*out),
            _ => None,
        }
    }

    /// The crossbar settings of an in-situ run (ideal device when `[device]` is absent).
    pub fn xbar(&self, array: &ArrayConfig) -> crate::xbar::Xbar {
        crate::xbar::Xbar {
            array: array.clone(),
            device: self.device.clone().unwrap_or_default(),
        }
    }
}
