//! The `[chip.training]` section: how the training chip computes and applies weight gradients,
//! and how a training step is scheduled. These choices decide whether DFA's parallel error phase
//! shortens the whole step (docs/cost-model.md, "Training chip").

use serde::{Deserialize, Serialize};

use crate::config::{check, ConfigError};

/// The circuit that computes weight gradients dW = X^T delta for the `batched` update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WgKind {
    /// SRAM compute-in-memory arrays (as DNN+NeuroSim V2): the layer inputs are written into
    /// SRAM arrays and the errors applied bit-serially as read inputs; sized from the layer with
    /// the largest input, with a digital accumulator for the batch.
    SramCim,
    /// A square systolic array of `chip.wg_macs` digital multiply-accumulate units.
    Digital,
}

/// How many weight-gradient units the chip has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WgPlacement {
    /// One unit (and one DRAM channel) serves every layer in turn.
    Shared,
    /// Every layer has its own unit, sized for that layer, working in parallel.
    PerLayer,
}

/// How weight updates reach the arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateScheme {
    /// Gradients are computed by the weight-gradient unit, accumulated over the batch and
    /// programmed row by row once per step.
    Batched,
    /// Every image's outer product delta x^T is applied in the array itself by coincident
    /// stochastic pulse trains on rows and columns (parallel pulsed update, as on RPU arrays):
    /// no weight-gradient unit, no gradient traffic, every cell of a layer updated at once.
    OuterProduct,
}

/// How signed errors are applied to the arrays (BP's transposed read, DFA's feedback read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedRead {
    /// A pass for the positive part and one for the negative part (the read the crossbar
    /// simulation performs): 2 x error_bits input cycles.
    TwoPasses,
    /// Two's complement, bit-serial: the sign bit's partial sums are subtracted in the
    /// shift-add (DNN+NeuroSim V2): error_bits input cycles.
    TwosComplement,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingChipConfig {
    pub wg_unit: WgKind,
    pub wg_placement: WgPlacement,
    pub update: UpdateScheme,
    /// Images overlap across layers during training: a layer's arrays take the next image as
    /// soon as they are free (also when `chip.pipelined`). Under the outer-product update this
    /// lets DFA apply each image's update a few images late; BP keeps images in order, because
    /// its transposed read must see the weights its own forward pass saw.
    pub pipeline: bool,
    /// Length of the stochastic pulse train of the outer-product update, per sign window.
    pub update_pulses: u32,
    /// Resolution of the SRAM-CIM unit's column ADCs, bits.
    pub wg_adc_bits: u32,
    /// Columns sharing one ADC in the SRAM-CIM unit.
    pub wg_mux: u32,
    pub signed_error: SignedRead,
}

impl Default for TrainingChipConfig {
    fn default() -> Self {
        Self {
            wg_unit: WgKind::SramCim,
            wg_placement: WgPlacement::Shared,
            update: UpdateScheme::Batched,
            pipeline: false,
            update_pulses: 1,
            wg_adc_bits: 4,
            wg_mux: 8,
            signed_error: SignedRead::TwoPasses,
        }
    }
}

impl TrainingChipConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            "chip.training.update_pulses",
            self.update_pulses,
            (1..=1024).contains(&self.update_pulses),
            "1..=1024 pulses per sign window",
        )?;
        check(
            "chip.training.wg_adc_bits",
            self.wg_adc_bits,
            (1..=12).contains(&self.wg_adc_bits),
            "1..=12",
        )?;
        check(
            "chip.training.wg_mux",
            self.wg_mux,
            (1..=128).contains(&self.wg_mux),
            "1..=128 columns per ADC",
        )?;
        Ok(())
    }
}
