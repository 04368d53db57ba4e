//! A trained model (dense or PENNI-compressed) evaluated on crossbars with the experiment's
//! `[array]`/`[device]`, inference only: dense conv and FC layers read one array each (as in
//! situ, `net_insitu`), PENNI layers a basis and a coefficient array (`net_penni_xbar`), the
//! weights mapped for inference (`net_cells::map_model`).

use serde::Serialize;

use super::insitu::knobs;
use super::net::Net;
use super::net_cells::{install, map_model};
use super::net_twin::Twin;
use super::trainer::{self, Trainer};
use crate::backend::xbar::XbarActivity;
use crate::backend::*;
use crate::config::{AdcMode, ExperimentConfig};
use crate::data::{Dataset, Split};
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

/// Puts every weight layer of `net` (built from `model`, in evaluation mode) on crossbars per
/// `cfg.array`; with `adc_mode = "calibrated"` the ADC ranges are first calibrated on the first
/// images of `calib` (`net_xbar::calibration_rows`), run forward on a twin (`net_twin::Twin`).
pub fn attach(
    be: &mut dyn Backend,
    net: &mut Net,
    model: &Model,
    cfg: &ExperimentConfig,
    calib: &Dataset,
    seed: u64,
) -> anyhow::Result<()> {
    let array = cfg
        .array
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("crossbar evaluation needs an [array] section"))?;
    let xb = cfg.xbar(array);
    xb.validate(false)?;
    let inst = &cfg.instances()[0];
    let k = knobs(cfg, inst, seed);
    let mut cells = map_model(model, &xb);
    if array.adc_mode == AdcMode::Calibrated {
        let twin = Twin {
            xb: &xb,
            knobs: &k,
            seed: None,
        };
        cells = twin
            .calibrate(be, model, net.hyper, cfg, cells, None, calib)?
            .0;
    }
    install(be, net, cfg, &xb, &[k], vec![cells], false, false)
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
    attach(t.be, &mut t.net, model, cfg, &split.train, seed)?;
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
