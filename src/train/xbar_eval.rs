//! A trained model (dense or PENNI-compressed) evaluated on crossbars with the experiment's
//! `[array]`/`[device]`, inference only: dense conv and FC layers read one array each (as in
//! situ, `net::attach`), PENNI layers a basis and a coefficient array (`net::penni_xbar`), the
//! weights mapped for inference (`net::cells::map_model`).

use serde::Serialize;

use super::trainer::{self, Trainer};
use crate::backend::xbar::XbarActivity;
use crate::backend::*;
use crate::config::ExperimentConfig;
use crate::data::Split;
use crate::net::attach;
use crate::nn::model::Model;

/// Accuracy, speed and crossbar activity of a model's test-set inference on crossbars.
#[derive(Debug, Clone, Serialize)]
pub struct XbarEval {
    pub accuracy: f64,
    pub latency_s_per_batch: f64,
    /// Input vectors read and ADC conversions over every array.
    pub reads: u64,
    pub adc_conversions: u64,
    /// Per array, in layer order (a PENNI layer has its basis then its coefficient array).
    pub activity: Vec<XbarActivity>,
}

/// Test accuracy, seconds per batch and crossbar activity of `model` on the experiment's
/// crossbars (ADC ranges calibrated on the training set's first batch when asked).
pub fn evaluate(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    model: &Model,
    split: &Split,
) -> anyhow::Result<XbarEval> {
    let seed = cfg.instances()[0].seed.unwrap_or(cfg.seed);
    let hyper = trainer::hyper(cfg, split.train.len());
    let mut t = Trainer::new(be, model, hyper, split, seed)?;
    attach::for_inference(t.be, &mut t.net, model, cfg, &split.train, seed)?;
    let (_, accuracy, latency_s_per_batch) = t.evaluate();
    let activity = t.activity();
    Ok(XbarEval {
        accuracy,
        latency_s_per_batch,
        reads: activity.iter().map(|a| a.vectors_forward).sum(),
        adc_conversions: activity.iter().map(|a| a.forward.adc_conversions).sum(),
        activity,
    })
}
