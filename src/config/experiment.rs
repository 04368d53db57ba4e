//! The experiment file: one TOML document for accuracy simulation and chip cost alike.

use serde::{Deserialize, Serialize};

use super::activation::{Activation, LossKind};
use super::arch::{self, LayerSpec};
use super::array::ArrayConfig;
use super::data::{DataConfig, Source};
use super::device::DeviceConfig;
use super::xbar::Xbar;

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
    pub chip: Option<super::chip::ChipConfig>,
    /// PENNI compression (`insitu compress`); defaults apply when absent.
    #[serde(default)]
    pub compress: Option<super::compress::CompressConfig>,
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

    /// A `network.arch` without convolutions is an MLP: its FC layers but the last (the
    /// classes) become `network.hidden`, so it trains exactly what `hidden` would.
    pub fn normalize(&mut self) {
        let Some(a) = &self.network.arch else {
            return;
        };
        let Ok(specs) = arch::parse(a) else {
            return;
        };
        let fc: Vec<usize> = specs
            .iter()
            .map_while(|s| match s {
                LayerSpec::Fc { out } => Some(*out),
                _ => None,
            })
            .collect();
        if fc.len() == specs.len() {
            self.network.hidden = fc[..fc.len() - 1].to_vec();
        }
    }

    /// The output width a conv-free `network.arch` asks for (its last FC layer).
    pub fn mlp_outputs(&self) -> Option<usize> {
        let specs = arch::parse(self.network.arch.as_deref()?).ok()?;
        match specs.last()? {
            LayerSpec::Fc { out } => Some(*out),
            _ => None,
        }
    }

    /// The crossbar settings of an in-situ run (ideal device when `[device]` is absent).
    pub fn xbar(&self, array: &ArrayConfig) -> Xbar {
        Xbar {
            array: array.clone(),
            device: self.device.clone().unwrap_or_default(),
        }
    }
}

/// Input shape [C, H, W] and classes of the experiment's data (without loading it).
pub fn data_shape(cfg: &ExperimentConfig) -> ([usize; 3], usize) {
    let input = cfg.network.input.unwrap_or(match cfg.data.source {
        Source::Cifar10 | Source::Cifar100 => [3, 32, 32],
        // A NumPy set's shape is known once loaded; without network.input, MNIST's.
        Source::Mnist5k | Source::Idx | Source::Npy => [1, 28, 28],
    });
    let classes = match (cfg.data.classes, cfg.data.source) {
        (0, Source::Cifar100) => cfg.data.cifar100_labels.classes(),
        (0, _) => 10,
        (n, _) => n,
    };
    (input, classes)
}
