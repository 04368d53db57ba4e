//! Drift study: a network trained in float, programmed onto crossbars of several chips (each its
//! own d2d, stuck and drift-exponent draws), read at times after programming, with and without
//! global drift compensation. Accuracy is averaged over the chips.
//!
//! The arrays use the inference mapping (`xbar::map_weights`) of `cfg.array` on `cfg.device`;
//! with `adc_mode = "calibrated"` each chip's ranges are calibrated at t = 1 s on the start of
//! the training set, as a chip would be right after programming. Reads run on the CPU reference.

use serde::Serialize;

use crate::backend::{input_range, Backend};
use crate::config::{AdcMode, ExperimentConfig};
use crate::cpu::act::activate;
use crate::data::{Dataset, Split};
use crate::nn::model::Layer;
use crate::xbar::direction::Direction;
use crate::xbar::read::{calibrate, read};
use crate::xbar::read_input::ReadInput;
use crate::xbar::{drift_compensation, map_weights, Knobs, LayerCells, Xbar};

/// Accuracy at one read time, over the chips.
#[derive(Debug, Clone, Serialize)]
pub struct DriftPoint {
    /// Seconds after programming.
    pub t: f64,
    pub compensate: bool,
    pub mean: f64,
    pub std: f64,
    /// Per chip.
    pub accuracies: Vec<f64>,
}

/// A float MLP's weights and biases per layer (`[out][in]`, `[out]`).
pub type Weights = Vec<(Vec<f32>, Vec<f32>)>;

/// Trains `cfg` in float (its `[array]` removed) on `be`; returns instance 0's parameters.
pub fn train_float(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
) -> anyhow::Result<Weights> {
    let mut float = cfg.clone();
    float.array = None;
    float.population.clear();
    let opts = crate::train::RunOptions::default();
    let (_, model) = crate::train::trainer::train(be, &float, split, &opts, None)?;
    model
        .layers
        .into_iter()
        .map(|layer| match layer {
            Layer::Fc(f) => Ok((f.weight, f.bias)),
            Layer::Conv(_) => anyhow::bail!("the drift study takes MLPs (network.hidden) only"),
        })
        .collect()
}

/// Test accuracy of `weights` read through `layers` (one chip) with `xb`.
fn accuracy(
    layers: &[LayerCells],
    weights: &Weights,
    xb: &Xbar,
    knobs: &Knobs,
    cfg: &ExperimentConfig,
    test: &Dataset,
) -> f64 {
    let rows = test.len();
    let mut h = test.images.clone();
    let last = layers.len() - 1;
    for (l, layer) in layers.iter().enumerate() {
        let signed = crate::net::mapping::input_signed(cfg, l);
        let range = input_range(&h, signed);
        let inp = ReadInput::new(&h, rows, range)
            .signed(signed)
            .counter(l as u32);
        let (mut y, _) = read(layer, Direction::Forward, &inp, xb, knobs);
        let b = &weights[l].1;
        for (i, v) in y.iter_mut().enumerate() {
            *v += b[i % b.len()];
        }
        if l < last {
            for v in y.iter_mut() {
                *v = activate(cfg.network.activation as u32, *v);
            }
        }
        h = y;
    }
    let classes = layers[last].fan_out;
    let correct = (0..rows)
        .filter(|&r| {
            let row = &h[r * classes..(r + 1) * classes];
            let top = (0..classes)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            top as u32 == test.labels[r]
        })
        .count();
    correct as f64 / rows.max(1) as f64
}

/// Accuracy of `weights` on `chips` chips at every time in `times`, without and with global
/// drift compensation. `cfg` needs `[array]` (and a `[device]` with drift).
pub fn drift_study(
    cfg: &ExperimentConfig,
    weights: &Weights,
    split: &Split,
    times: &[f64],
    chips: u32,
) -> anyhow::Result<Vec<DriftPoint>> {
    let array = cfg
        .array
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the drift study needs an [array] section"))?;
    let base = cfg.xbar(array);
    base.validate(false)?;
    let mut sizes = vec![split.train.features()];
    sizes.extend(&cfg.network.hidden);
    sizes.push(split.train.classes);
    let mut out = Vec::new();
    for compensate in [false, true] {
        for &t in times {
            let mut accs = Vec::new();
            for chip in 0..chips {
                let knobs = Knobs::from_device(&base.device, 0.0, cfg.seed + chip as u64);
                let mut layers: Vec<LayerCells> = weights
                    .iter()
                    .enumerate()
                    .map(|(l, (w, _))| {
                        map_weights(w, sizes[l + 1], sizes[l], None, &base, 0, l as u32)
                    })
                    .collect();
                if array.adc_mode == AdcMode::Calibrated {
                    calibrate_chip(&mut layers, weights, &base, &knobs, cfg, &split.train);
                }
                let mut xb = base.clone();
                xb.device.drift = xb.device.drift.at(t);
                xb.device.drift.compensate = compensate;
                for l in layers.iter_mut() {
                    drift_compensation::calibrate_gain(l, &xb, &knobs);
                }
                accs.push(accuracy(&layers, weights, &xb, &knobs, cfg, &split.test));
            }
            let n = accs.len() as f64;
            let mean = accs.iter().sum::<f64>() / n;
            let var = accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            out.push(DriftPoint {
                t,
                compensate,
                mean,
                std: var.sqrt(),
                accuracies: accs,
            });
        }
    }
    Ok(out)
}

/// Calibrates every layer's forward ADC range at t = 1 s on the first batch of `train`.
fn calibrate_chip(
    layers: &mut [LayerCells],
    weights: &Weights,
    xb: &Xbar,
    knobs: &Knobs,
    cfg: &ExperimentConfig,
    train: &Dataset,
) {
    let rows = (cfg.train.batch_size as usize).min(train.len()).max(1);
    let mut fresh = xb.clone();
    fresh.device.drift = fresh.device.drift.at(1.0);
    let mut h = train.images[..rows * train.features()].to_vec();
    let last = layers.len() - 1;
    for (l, layer) in layers.iter_mut().enumerate() {
        let signed = crate::net::mapping::input_signed(cfg, l);
        let range = input_range(&h, signed);
        let inp = ReadInput::new(&h, rows, range).signed(signed);
        calibrate(layer, Direction::Forward, &inp, &fresh, knobs);
        let (mut y, _) = read(layer, Direction::Forward, &inp, &fresh, knobs);
        let b = &weights[l].1;
        for (i, v) in y.iter_mut().enumerate() {
            *v += b[i % b.len()];
            if l < last {
                *v = activate(cfg.network.activation as u32, *v);
            }
        }
        h = y;
    }
}
