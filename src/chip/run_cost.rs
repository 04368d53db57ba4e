//! The chip cost of a training run or of a trained model: training reports what ran and came
//! out, this layer says what the chip that runs it costs. The cost model never costs a report
//! its results: a failure is reported and the cost left out.

use super::{estimate, ChipReport, EstimateRequest};
use crate::config::ExperimentConfig;
use crate::nn::model::Model;
use crate::report::RunReport;

/// A training report with the cost of its chip.
pub type CostedRun = RunReport<ChipReport>;

/// `report` with the chip that runs its network: area, inference and (in-situ runs) training
/// cost, driven by the run's measured crossbar activity where there is one.
pub fn run_cost(report: RunReport) -> CostedRun {
    let cfg = &report.config;
    let measured =
        (!report.activity.is_empty()).then(|| super::experiment::measured(cfg, &report.activity));
    let cost = or_warn(super::experiment::report(cfg, measured.as_deref()));
    report.with_cost(cost)
}

/// The inference chip holding `model` (not the config's network) on the experiment's array,
/// device and chip, at typical activity; none without `[array]` (a float model).
pub fn model_cost(cfg: &ExperimentConfig, model: &Model) -> Option<ChipReport> {
    let array = cfg.array.as_ref()?;
    let layers = model.folded().chip_layers(array);
    or_warn(estimate(&EstimateRequest {
        chip: &cfg.chip.clone().unwrap_or_default(),
        array,
        device: &cfg.device.clone().unwrap_or_default(),
        layers: &layers,
        activity: None,
        training: None,
    }))
}

/// The cost, or a warning and none.
fn or_warn<E: std::fmt::Display>(cost: Result<ChipReport, E>) -> Option<ChipReport> {
    cost.map_err(|e| eprintln!("warning: chip cost not estimated: {e:#}"))
        .ok()
}
