//! The chip cost of a training run or an evaluation, attached to its report: training reports
//! what ran and came out, this layer says what the chip that runs it costs.

use super::{estimate, ChipReport, EstimateRequest};
use crate::config::ExperimentConfig;
use crate::nn::model::Model;
use crate::train::eval::EvalReport;
use crate::train::RunReport;

/// A training report with the cost of its chip.
pub type CostedRun = RunReport<ChipReport>;

/// `report` with the chip that runs its network: area, inference and (in-situ runs) training
/// cost, driven by the run's measured crossbar activity where there is one. The cost model
/// never costs a run its results: a failure is reported and the cost left out.
pub fn run_cost(report: RunReport) -> CostedRun {
    let cfg = &report.config;
    let measured =
        (!report.activity.is_empty()).then(|| super::experiment::measured(cfg, &report.activity));
    let cost = or_warn(super::experiment::report(cfg, measured.as_deref()));
    report.with_cost(cost)
}

/// `report` with the inference chip holding `model` on the experiment's array and device, at
/// typical activity.
/// Without `[array]` (a float evaluation) there is no chip.
pub fn eval_cost(report: EvalReport, model: &Model) -> EvalReport<ChipReport> {
    let cfg: &ExperimentConfig = &report.config;
    if cfg.array.is_none() {
        return report.with_cost(None);
    }
    let chip = cfg.chip.clone().unwrap_or_default();
    let array = cfg.array.clone().unwrap_or_default();
    let device = cfg.device.clone().unwrap_or_default();
    let layers = model.folded().chip_layers(&array);
    let req = EstimateRequest {
        chip: &chip,
        array: &array,
        device: &device,
        layers: &layers,
        activity: None,
        training: None,
    };
    report.with_cost(or_warn(estimate(&req)))
}

/// The cost, or a warning and none: the cost model never costs a report its results.
fn or_warn<E: std::fmt::Display>(cost: Result<ChipReport, E>) -> Option<ChipReport> {
    cost.map_err(|e| eprintln!("warning: chip cost not estimated: {e:#}"))
        .ok()
}
