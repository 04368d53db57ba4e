//! The `[compress]` section of a PENNI experiment file.

use serde::{Deserialize, Serialize};

use crate::config::{check, ConfigError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressConfig {
    /// Basis kernels per layer, d (the paper uses 5 for 3x3 kernels).
    pub basis: usize,
    /// Epochs of retraining with L1 on the coefficients.
    pub retrain_epochs: u32,
    /// Bases and coefficients take turns being trainable, this many epochs each
    /// (coefficients first).
    pub alternate: u32,
    /// L1 strength: the loss gains lambda * sum |c| over every coefficient.
    pub lambda: f64,
    /// Prune coefficients with |c| < threshold * std of their layer.
    pub threshold: f64,
    /// Epochs of fine-tuning with pruned coefficients held at zero.
    pub finetune_epochs: u32,
    /// Learning rates of the retraining and fine-tuning phases.
    pub lr: f64,
    pub finetune_lr: f64,
    /// Fractions of each phase after which the learning rate is multiplied by 0.1.
    pub lr_drops: Vec<f64>,
}

impl Default for CompressConfig {
    fn default() -> Self {
        Self {
            basis: 5,
            retrain_epochs: 4,
            alternate: 2,
            lambda: 1e-4,
            threshold: 1.0,
            finetune_epochs: 2,
            lr: 0.01,
            finetune_lr: 0.01,
            lr_drops: vec![0.5, 0.75],
        }
    }
}

impl CompressConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            "compress.basis",
            self.basis,
            (1..=49).contains(&self.basis),
            "1..=49",
        )?;
        check(
            "compress.alternate",
            self.alternate,
            self.alternate >= 1,
            ">= 1",
        )?;
        check(
            "compress.lambda",
            self.lambda,
            (0.0..1.0).contains(&self.lambda),
            "[0, 1)",
        )?;
        check(
            "compress.threshold",
            self.threshold,
            (0.0..=10.0).contains(&self.threshold),
            "[0, 10]",
        )?;
        for (name, v) in [
            ("compress.lr", self.lr),
            ("compress.finetune_lr", self.finetune_lr),
        ] {
            check(name, v, v > 0.0 && v.is_finite(), "> 0")?;
        }
        check(
            "compress.lr_drops",
            format!("{:?}", self.lr_drops),
            self.lr_drops.iter().all(|f| (0.0..=1.0).contains(f)),
            "fractions in [0, 1]",
        )?;
        Ok(())
    }

    /// Learning rate of `epoch` of a phase of `epochs` starting at `lr`.
    pub fn lr_at(&self, lr: f64, epoch: u32, epochs: u32) -> f64 {
        let drops = self
            .lr_drops
            .iter()
            .filter(|f| epoch as f64 >= **f * epochs as f64)
            .count();
        lr * 0.1f64.powi(drops as i32)
    }
}
