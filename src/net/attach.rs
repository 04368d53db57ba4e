//! Putting a network's weight layers on crossbars, for in-situ training (`for_training`) or for
//! inference on a trained model (`for_inference`, weights mapped by `cells::map_model`).
//!
//! Networks trained in situ: every weight layer (a conv's unrolled kernel matrix `[C_out][C_in k
//! k]`, one kernel per crossbar column, or an FC `[fan_out][fan_in]`) lives as conductances on a
//! crossbar layer. Reads replace the weight products (`products`); the weight gradient stays
//! digital, goes through the momentum, and is programmed as pulses by the step every crossbar layer
//! shares (`xbar_steps`). Calibrated ADC ranges are set on one batch (at most 16 images for conv
//! nets) run through the freshly programmed arrays on a twin of the network (on the device where
//! the backend calibrates there, else on the host), the same twin crossbar evaluation and
//! recalibration during training calibrate on (`twin`). DFA's feedback is ideal, or with
//! `array.feedback_bits` > 0 one fixed quantized array holding every layer's (`dfa`).

use super::cells::{install, install_feedback, map_model, Cells};
use super::dfa;
use super::mapping::{knobs, map_layers};
use super::network::{FeedbackArray, Net};
use super::twin::Twin;
use crate::backend::*;
use crate::config::{AdcMode, ExperimentConfig};
use crate::data::Dataset;
use crate::nn::model::{ConvWeights, Layer, Model};
use crate::xbar::mapping::map_weights;
use crate::xbar::Xbar;

/// Layer id of the DFA feedback array in the random streams (weights use 0..63).
const FEEDBACK_LAYER: u32 = 63;

/// Layer `l`'s weights `[out][in]` and shape (fan_in, fan_out) in `model`.
fn dense_weights(model: &Model, l: usize) -> anyhow::Result<(&[f32], usize, usize)> {
    match &model.layers[l] {
        Layer::Conv(c) => match &c.weights {
            ConvWeights::Dense(w) => Ok((w, c.c_in * c.k * c.k, c.c_out)),
            ConvWeights::Penni(_) => anyhow::bail!(
                "layer {} is in PENNI form: in-situ training on crossbars ([array]) takes dense \
                 conv layers only",
                l + 1
            ),
        },
        Layer::Fc(f) => Ok((&f.weight, f.fan_in, f.fan_out)),
    }
}

/// Puts every weight layer of `net` on crossbars per `cfg.array`: instance i (built from
/// `models[i]`) with the knobs of population instance i drawn from `seeds[i]`; with
/// `adc_mode = "calibrated"` each instance's ADC ranges are first calibrated on the start of
/// `calib`. DFA's feedback, when the net has it, goes on a quantized array with
/// `array.feedback_bits` > 0, else stays digital (ideal projection).
pub fn for_training(
    be: &mut dyn Backend,
    net: &mut Net,
    models: &[Model],
    cfg: &ExperimentConfig,
    calib: &Dataset,
    seeds: &[u64],
) -> anyhow::Result<()> {
    let Some(array) = &cfg.array else {
        return Ok(());
    };
    let xb = cfg.xbar(array);
    let fx = feedback_xbar(cfg, net)?;
    let (mut all_knobs, mut all_cells, mut all_fb) = (Vec::new(), Vec::new(), Vec::new());
    for (i, model) in models.iter().enumerate() {
        let k = knobs(cfg, &cfg.instances()[i], seeds[i]);
        let layers = (0..model.layers.len())
            .map(|l| dense_weights(model, l))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut cells: Vec<Cells> = map_layers(cfg, &xb, &k, &layers)?
            .into_iter()
            .map(Cells::Dense)
            .collect();
        let mut fb = fx.as_ref().map(|fx| {
            let (_, s) = FeedbackArray::layout(&dfa::signal_sizes(net, cfg.train.dfa_scope));
            let classes = net.classes();
            let w = dfa::stacked(be, net, i);
            (fx, map_weights(&w, s, classes, None, fx, 0, FEEDBACK_LAYER))
        });
        if array.adc_mode == AdcMode::Calibrated {
            let twin = Twin {
                xb: &xb,
                knobs: &k,
                seed: Some(seeds[i]),
            };
            (cells, fb) = twin.calibrate(be, model, net.hyper, cfg, cells, fb, calib)?;
        }
        all_knobs.push(k);
        all_cells.push(cells);
        all_fb.extend(fb.map(|(_, c)| c));
    }
    install(be, net, cfg, &xb, &all_knobs, all_cells, true, false)?;
    if let Some(fx) = &fx {
        install_feedback(be, net, cfg, fx, all_fb, &all_knobs)?;
    }
    Ok(())
}

/// Puts every weight layer of `net` (built from `model`, in evaluation mode) on crossbars per
/// `cfg.array`; with `adc_mode = "calibrated"` the ADC ranges are first calibrated on the first
/// images of `calib` (`xbar::calibration_rows`), run forward on a twin (`twin::Twin`).
pub fn for_inference(
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

/// The settings of DFA's quantized feedback array (`array.feedback_bits` > 0): the array's,
/// with the feedback's bits per weight. None for an ideal projection.
pub fn feedback_xbar(cfg: &ExperimentConfig, net: &Net) -> anyhow::Result<Option<Xbar>> {
    let (Some(array), Some(_)) = (&cfg.array, &net.dfa) else {
        return Ok(None);
    };
    if array.feedback_bits == 0 {
        return Ok(None);
    }
    let mut fa = array.clone();
    fa.weight_bits = array.feedback_bits;
    fa.cell_bits = fa.cell_bits.min(array.feedback_bits);
    let fx = Xbar {
        array: fa,
        device: cfg.xbar(array).device,
    };
    fx.validate(false)?;
    Ok(Some(fx))
}
