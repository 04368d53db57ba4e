//! Hardware-aware inference of a trained model (`insitu eval`): the model is put on the
//! experiment's crossbars once per population instance (a Monte-Carlo chip with its own seed and
//! knobs) and its test accuracy read at every drift time of `device.drift.t`.
//!
//! Weights reach the arrays one of two ways:
//! - a model saved by an in-situ run carries the conductances it was programmed to; on a chip
//!   with the same cell layout (weight and cell bits, mapping, on/off ratio, layer shapes)
//!   those conductances are read as they are, calibrated ADC ranges included, so instance 0
//!   (the training seed) reproduces the accuracy at the end of training;
//! - otherwise the weights are mapped for inference (`map_weights`, full range max |w| per
//!   matrix) and the ADC ranges calibrated when `adc_mode = "calibrated"`.
//!
//! Each instance's seed keys its frozen d2d and stuck cells and its read noise. Calibration
//! happens at the first listed time (the chip is calibrated when it is first read); later
//! times read the same cells with more drift and no recalibration. The report's chip cost is
//! that of the inference chip holding the evaluated model.

use std::path::Path;

use serde::Serialize;

use crate::backend::Backend;
use crate::chip::run_cost::model_cost;
use crate::chip::ChipReport;
use crate::config::{AdcMode, ExperimentConfig};
use crate::data::Split;
use crate::gpu::AdapterSummary;
use crate::net::cells::{install, map_model, Cells};
use crate::net::mapping::knobs;
use crate::net::twin::Twin;
use crate::nn::model::{ConvWeights, Layer, Model};
use crate::report::{save_json, Stats};
use crate::train::options::instance_settings;
use crate::train::trainer::{self, Trainer};
use crate::xbar::{LayerCells, Xbar};

/// One instance's accuracy at one read time.
#[derive(Debug, Clone, Serialize)]
pub struct TimePoint {
    /// Seconds since programming.
    pub t: f64,
    pub test_accuracy: f64,
    pub test_loss: f64,
}

/// One Monte-Carlo chip: its knobs and its accuracy at every read time.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceEval {
    pub index: usize,
    pub seed: u64,
    pub d2d: f32,
    pub c2c: f32,
    pub read_noise: f32,
    pub output_noise: f32,
    pub points: Vec<TimePoint>,
}

/// Accuracy across instances at one read time.
#[derive(Debug, Clone, Serialize)]
pub struct TimeSummary {
    pub t: f64,
    pub mean: f64,
    /// Sample standard deviation across instances (0 for one instance).
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

/// An evaluation's report.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub version: String,
    pub adapter: AdapterSummary,
    pub backend: String,
    pub config: ExperimentConfig,
    /// The model file evaluated.
    pub model: String,
    /// "programmed conductances" (from the model file) or "mapped weights".
    pub weights: String,
    /// Why programmed conductances in the file were not used, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Test accuracy of the model in float (the digital reference).
    pub float_accuracy: f64,
    pub instances: Vec<InstanceEval>,
    pub times: Vec<TimeSummary>,
    /// The inference chip holding the evaluated model (typical activity); none without
    /// `[array]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<ChipReport>,
}

impl TimeSummary {
    /// Mean, sample standard deviation, minimum and maximum of `v` at read time `t`.
    fn of(t: f64, v: &[f64]) -> TimeSummary {
        let s = Stats::of(v);
        TimeSummary {
            t,
            mean: s.mean,
            std: s.std,
            min: s.min,
            max: s.max,
        }
    }
}

/// The model in `path` and the programmed cells it carries (none for a float model).
pub fn load(path: &Path) -> anyhow::Result<(Model, Vec<(usize, LayerCells)>)> {
    let at = |e: anyhow::Error| anyhow::anyhow!("{}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(|e| at(e.into()))?;
    let model = crate::model_io::from_bytes(&bytes).map_err(at)?;
    let cells = crate::model_io::cells::from_bytes(&bytes).map_err(at)?;
    Ok((model, cells))
}

/// The programmed cells of the file as crossbar layers when they fit `model` on `xb`, else
/// why not.
fn saved_cells(
    model: &Model,
    saved: &[(usize, LayerCells)],
    xb: &Xbar,
) -> Result<Vec<Cells>, String> {
    let n = model.layers.len();
    if saved.len() != n || saved.iter().enumerate().any(|(l, (i, _))| *i != l) {
        return Err(format!(
            "the file has conductances for {} of the {n} weight layers",
            saved.len()
        ));
    }
    let a = &xb.array;
    let layout = (a.weight_bits, a.cell_bits, a.mapping);
    let g_min = (1.0 / xb.device.on_off) as f32;
    let mut out = Vec::with_capacity(n);
    for (l, c) in saved {
        let shape = match &model.layers[*l] {
            Layer::Fc(f) => Some((f.fan_in, f.fan_out)),
            Layer::Conv(v) => match v.weights {
                ConvWeights::Dense(_) => Some((v.c_in * v.k * v.k, v.c_out)),
                ConvWeights::Penni(_) => None,
            },
        };
        if shape != Some((c.fan_in, c.fan_out)) {
            return Err(format!("layer {l}'s cells do not match its weights"));
        }
        if (c.weight_bits, c.cell_bits, c.mapping) != layout {
            return Err(format!(
                "layer {l} was programmed with weight_bits={} cell_bits={} mapping={:?}, the \
                 config's array has weight_bits={} cell_bits={} mapping={:?}",
                c.weight_bits, c.cell_bits, c.mapping, layout.0, layout.1, layout.2
            ));
        }
        if (c.g_min - g_min).abs() > 1e-6 * g_min.max(1e-12) {
            return Err(format!(
                "layer {l} was programmed with G_min/G_max = {}, the config's device has {g_min}",
                c.g_min
            ));
        }
        out.push(Cells::Dense(c.clone()));
    }
    Ok(out)
}

fn needs_calibration(cells: &[Cells]) -> bool {
    cells.iter().any(|c| match c {
        Cells::Dense(c) => c.adc_range_fwd.is_none(),
        Cells::Penni { .. } => true,
    })
}

/// Evaluates `model` (with the programmed cells `saved` of its file, possibly none) on the
/// experiment's crossbars for every population instance and drift time, with the cost of the
/// chip holding it; without `[array]`, in float only. `model_name` labels the report.
pub fn evaluate(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    model: &Model,
    saved: &[(usize, LayerCells)],
    split: &Split,
    model_name: &str,
) -> anyhow::Result<EvalReport> {
    anyhow::ensure!(
        model.input == split.test.shape,
        "the model takes {:?} (C, H, W) images but the data set ({}) has {:?}",
        model.input,
        split.name,
        split.test.shape
    );
    anyhow::ensure!(
        model.classes() >= split.test.classes,
        "the model has {} outputs but the data set ({}) has {} classes",
        model.classes(),
        split.name,
        split.test.classes
    );
    let adapter = be.describe();
    let insts = cfg.instances();
    let seeds: Vec<u64> = instance_settings(cfg).iter().map(|s| s.0).collect();
    let hyper = trainer::hyper(cfg, split.train.len());
    let mut t = Trainer::new(be, model, hyper, split, seeds[0])?;
    let (_, float_accuracy, _) = t.evaluate();
    let mut report = EvalReport {
        version: env!("CARGO_PKG_VERSION").into(),
        backend: adapter.backend.clone(),
        adapter,
        config: cfg.clone(),
        model: model_name.into(),
        weights: "float".into(),
        note: None,
        float_accuracy,
        instances: Vec::new(),
        times: Vec::new(),
        cost: model_cost(cfg, model),
    };
    let Some(array) = &cfg.array else {
        return Ok(report);
    };
    let xb = cfg.xbar(array);
    xb.validate(false)?;
    let drift = &xb.device.drift;
    // The chip read `time` seconds after programming.
    let at = |time: f64| {
        let mut x = xb.clone();
        x.device.drift = drift.at(time);
        x
    };
    let from_file = match (!saved.is_empty()).then(|| saved_cells(model, saved, &xb)) {
        Some(Err(why)) => {
            report.note = Some(format!(
                "programmed conductances not used ({why}); the weights are mapped instead"
            ));
            None
        }
        cells => cells.and_then(Result::ok),
    };
    report.weights = match from_file {
        Some(_) => "programmed conductances",
        None => "mapped weights",
    }
    .into();
    for (i, (inst, &seed)) in insts.iter().zip(&seeds).enumerate() {
        let k = knobs(cfg, inst, seed);
        let mut cells = match &from_file {
            Some(c) => c.clone(),
            None => map_model(model, &xb),
        };
        if array.adc_mode == AdcMode::Calibrated && needs_calibration(&cells) {
            let twin = Twin {
                xb: &at(drift.times[0]),
                knobs: &k,
                seed: None,
            };
            cells = twin
                .calibrate(t.be, model, t.net.hyper, cfg, cells, None, &split.train)?
                .0;
        }
        let mut points = Vec::new();
        for &time in &drift.times {
            install(
                t.be,
                &mut t.net,
                cfg,
                &at(time),
                std::slice::from_ref(&k),
                vec![cells.clone()],
                false,
                false,
            )?;
            let (loss, acc, _) = t.evaluate();
            points.push(TimePoint {
                t: time,
                test_accuracy: acc,
                test_loss: loss,
            });
        }
        report.instances.push(InstanceEval {
            index: i,
            seed,
            d2d: k.d2d,
            c2c: k.c2c,
            read_noise: k.read_noise,
            output_noise: k.output_noise,
            points,
        });
    }
    report.times = drift
        .times
        .iter()
        .enumerate()
        .map(|(j, &time)| {
            let acc: Vec<f64> = report
                .instances
                .iter()
                .map(|r| r.points[j].test_accuracy)
                .collect();
            TimeSummary::of(time, &acc)
        })
        .collect();
    Ok(report)
}

impl EvalReport {
    /// Writes the report as JSON, atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        save_json(self, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}
