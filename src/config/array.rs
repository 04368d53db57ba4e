//! The `[array]` section: how weights map onto crossbar subarrays and the precision of every
//! conversion around them. Read by the crossbar simulation and by the chip cost model alike.

use serde::{Deserialize, Serialize};

use super::error::{check, ConfigError};

/// How a signed weight is held in non-negative conductances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mapping {
    /// Weight offset into [0, 2^b - 1]; a reference column at mid value is subtracted digitally.
    Offset,
    /// w = w+ - w-: two cells (two slice sets) per weight.
    Differential,
}

/// How the ADC range is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdcMode {
    /// One LSB per unit cell current (counting ADC); saturates at 2^b - 1.
    Unit,
    /// The whole possible range of a row group divided into 2^b codes; never clips.
    Full,
    /// Per-layer range [lo, hi] from percentiles of partial sums observed on a calibration
    /// batch (optionally recalibrated during training).
    Calibrated,
    /// Every partial-sum tensor (per read call, sign pass, row group, pass, slice and input
    /// cycle; data and reference columns apart) over its own [min, max] (NeuroSim's
    /// per-tensor quantization, `xbar::minmax`).
    #[serde(rename = "minmax")]
    MinMax,
}

/// Subarray geometry and the precision of every conversion around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArrayConfig {
    /// Rows (wordlines) per subarray.
    pub rows: u32,
    /// Columns (bitlines) per subarray.
    pub cols: u32,
    /// Rows activated at once; a row group takes ceil(rows / parallel_rows) ADC passes.
    pub parallel_rows: u32,
    /// Bits of a weight (forward inference mapping).
    pub weight_bits: u32,
    /// Bits held per cell; a weight spans ceil(weight_bits / cell_bits) slices.
    pub cell_bits: u32,
    pub mapping: Mapping,
    /// Bits of a forward input (activation).
    pub input_bits: u32,
    /// Bits applied per read cycle (1 = binary read pulses).
    pub dac_bits: u32,
    /// Bits of the forward ADC.
    pub adc_bits: u32,
    pub adc_mode: AdcMode,
    /// `calibrated` mode: the range spans the (100 - p) to p percentiles of partial sums.
    pub adc_percentile: f64,
    /// `calibrated` mode, in-situ training: recalibrate every this many training steps
    /// (0 = only once, at the start).
    pub adc_recalibrate_steps: u32,
    /// `calibrated` mode, in-situ training: recalibrate at the start of every epoch.
    pub adc_recalibrate_epoch: bool,
    /// The report warns when an epoch's clipped fraction of a layer's conversions exceeds this.
    pub adc_clip_warning: f64,
    /// Bits of a backward input (error) for BP's transposed read.
    pub error_bits: u32,
    /// Bits of the ADC for the transposed (backward) read.
    pub adc_bits_backward: u32,
    /// Bits of a DFA feedback-array weight; 0 means the feedback projection is ideal (float).
    pub feedback_bits: u32,
    /// Column-mux ratio: columns sharing one ADC (cost model and latency).
    pub mux: u32,
}

impl Default for ArrayConfig {
    fn default() -> Self {
        Self {
            rows: 128,
            cols: 128,
            parallel_rows: 128,
            weight_bits: 8,
            cell_bits: 2,
            mapping: Mapping::Offset,
            input_bits: 8,
            dac_bits: 1,
            adc_bits: 6,
            adc_mode: AdcMode::Full,
            adc_percentile: 99.9,
            adc_recalibrate_steps: 0,
            adc_recalibrate_epoch: false,
            adc_clip_warning: 0.01,
            error_bits: 8,
            adc_bits_backward: 8,
            feedback_bits: 0,
            mux: 8,
        }
    }
}

impl ArrayConfig {
    /// Slices a weight spans.
    pub fn slices(&self) -> u32 {
        self.weight_bits.div_ceil(self.cell_bits)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            "array.rows",
            self.rows,
            (1..=4096).contains(&self.rows),
            "1..=4096",
        )?;
        check(
            "array.cols",
            self.cols,
            (1..=4096).contains(&self.cols),
            "1..=4096",
        )?;
        check(
            "array.parallel_rows",
            self.parallel_rows,
            self.parallel_rows >= 1 && self.parallel_rows <= self.rows,
            &format!("1..=array.rows ({})", self.rows),
        )?;
        check(
            "array.weight_bits",
            self.weight_bits,
            (1..=16).contains(&self.weight_bits),
            "1..=16",
        )?;
        check(
            "array.cell_bits",
            self.cell_bits,
            self.cell_bits >= 1 && self.cell_bits <= self.weight_bits.min(8),
            &format!("1..=min(8, array.weight_bits = {})", self.weight_bits),
        )?;
        check(
            "array.input_bits",
            self.input_bits,
            (1..=16).contains(&self.input_bits),
            "1..=16",
        )?;
        check(
            "array.dac_bits",
            self.dac_bits,
            self.dac_bits >= 1 && self.dac_bits <= self.input_bits,
            &format!("1..=array.input_bits ({})", self.input_bits),
        )?;
        check(
            "array.adc_bits",
            self.adc_bits,
            (1..=16).contains(&self.adc_bits),
            "1..=16",
        )?;
        check(
            "array.error_bits",
            self.error_bits,
            (1..=16).contains(&self.error_bits),
            "1..=16",
        )?;
        check(
            "array.adc_bits_backward",
            self.adc_bits_backward,
            (1..=16).contains(&self.adc_bits_backward),
            "1..=16",
        )?;
        check(
            "array.feedback_bits",
            self.feedback_bits,
            self.feedback_bits <= 16,
            "0 (ideal) or 1..=16",
        )?;
        check(
            "array.adc_percentile",
            self.adc_percentile,
            self.adc_percentile > 50.0 && self.adc_percentile <= 100.0,
            "(50, 100]",
        )?;
        check(
            "array.adc_clip_warning",
            self.adc_clip_warning,
            (0.0..=1.0).contains(&self.adc_clip_warning),
            "0..=1 (a fraction of conversions)",
        )?;
        check(
            "array.mux",
            self.mux,
            self.mux >= 1 && self.mux <= self.cols && self.mux.is_power_of_two(),
            &format!("a power of two in 1..=array.cols ({})", self.cols),
        )?;
        Ok(())
    }
}
