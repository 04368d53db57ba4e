//! The per-epoch, final and per-instance records of a run, with each instance's device knobs.

use serde::Serialize;

use super::clipping::ClipFractions;
use super::divergence::Divergence;
use crate::config::ExperimentConfig;

#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    pub seconds: f64,
    /// DFA only: cosine similarity of the DFA and the true BP weight update, per hidden layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alignment: Option<Vec<f64>>,
    /// In-situ runs: per weight layer, the fraction of this epoch's training ADC conversions
    /// that clipped (all instances together).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adc_clipped: Vec<ClipFractions>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FinalRecord {
    pub test_accuracy: f64,
    /// Training samples per second of training time (each sample counted once however many
    /// instances trained on it).
    pub samples_per_second: f64,
    /// Samples x instances per second.
    pub instance_samples_per_second: f64,
    /// Set when the training loss stopped being finite or passed `train.max_loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<Divergence>,
}

/// One trained instance: its knobs and its numbers.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecord {
    pub index: usize,
    pub seed: u64,
    pub lr: f64,
    /// The device knobs this instance trained with (the `[device]` values unless its
    /// population entry overrides them); absent for float runs.
    #[serde(flatten)]
    pub knobs: Option<DeviceKnobs>,
    pub epochs: Vec<EpochRecord>,
    pub test_accuracy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<Divergence>,
}

/// The per-instance device knobs of a population entry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeviceKnobs {
    pub c2c: f64,
    pub d2d: f64,
    pub read_noise: f64,
    pub nl_ltp: f64,
    pub nl_ltd: f64,
}

impl DeviceKnobs {
    /// The knobs of population entry `inst` in `cfg` (None without a crossbar array).
    pub fn of(cfg: &ExperimentConfig, inst: &crate::config::InstanceConfig) -> Option<Self> {
        cfg.array.as_ref()?;
        let d = cfg.device.clone().unwrap_or_default();
        Some(DeviceKnobs {
            c2c: inst.c2c.unwrap_or(d.c2c),
            d2d: inst.d2d.unwrap_or(d.d2d),
            read_noise: inst.read_noise.unwrap_or(d.read_noise),
            nl_ltp: inst.nl_ltp.unwrap_or(d.nl_ltp),
            nl_ltd: inst.nl_ltd.unwrap_or(d.nl_ltd),
        })
    }
}

/// The per-epoch mean of `instances` (equal-length histories), alignment averaged per layer.
pub fn mean_epochs(instances: &[InstanceRecord]) -> Vec<EpochRecord> {
    let Some(first) = instances.first() else {
        return vec![];
    };
    let n = instances.len() as f64;
    (0..first.epochs.len())
        .map(|e| {
            let at = |f: &dyn Fn(&EpochRecord) -> f64| {
                instances.iter().map(|i| f(&i.epochs[e])).sum::<f64>() / n
            };
            let alignment = first.epochs[e].alignment.as_ref().map(|a| {
                (0..a.len())
                    .map(|l| at(&|r| r.alignment.as_ref().map_or(0.0, |v| v[l])))
                    .collect()
            });
            EpochRecord {
                epoch: first.epochs[e].epoch,
                train_loss: at(&|r| r.train_loss),
                train_accuracy: at(&|r| r.train_accuracy),
                test_accuracy: at(&|r| r.test_accuracy),
                seconds: first.epochs[e].seconds,
                alignment,
                // Counted over all instances together: the same in every instance's record.
                adc_clipped: first.epochs[e].adc_clipped.clone(),
            }
        })
        .collect()
}
