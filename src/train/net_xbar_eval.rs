//! A trained model (dense or PENNI-compressed) evaluated on crossbars with the experiment's
//! `[array]`/`[device]`, inference only: dense conv and FC layers read one array each (as in
//! situ, `net_insitu`), PENNI layers a basis and a coefficient array (`net_penni_xbar`).
//! Weights are mapped for inference with `map_weights` at a range of max |w| per matrix: the
//! trained weights are known, so the full code range covers them without clipping.

use serde::Serialize;

use super::insitu::{create_layers, input_signed, knobs};
use super::net::{Kind, Net, Param, Weights};
use super::net_insitu::NetXbar;
use super::net_penni_xbar::{compact, PenniXbar};
use super::trainer::{self, Trainer};
use crate::backend::xbar::XbarActivity;
use crate::backend::*;
use crate::config::{AdcMode, ExperimentConfig, Rule};
use crate::cpu::CpuBackend;
use crate::data::{Dataset, Split};
use crate::nn::model::{ConvWeights, Layer, Model};
use crate::xbar::mapping::map_weights;
use crate::xbar::{Knobs, LayerCells, Xbar};

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

/// The cells of one weight layer.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // a few per network
pub enum Cells {
    Dense(LayerCells),
    /// Basis array, and the compacted coefficient array with its used inputs and outputs.
    Penni {
        d: usize,
        basis: LayerCells,
        coef: Option<(LayerCells, Vec<usize>, Vec<usize>)>,
    },
}

/// `model`'s weights mapped for inference onto `xb`'s arrays.
pub fn map_model(model: &Model, xb: &Xbar) -> Vec<Cells> {
    let mut next = 0u32;
    let mut map = |w: &[f32], fo: usize, fi: usize| {
        next += 1;
        map_weights(w, fo, fi, None, xb, 0, next - 1)
    };
    model
        .layers
        .iter()
        .map(|layer| match layer {
            Layer::Fc(f) => Cells::Dense(map(&f.weight, f.fan_out, f.fan_in)),
            Layer::Conv(c) => match &c.weights {
                ConvWeights::Dense(w) => Cells::Dense(map(w, c.c_out, c.c_in * c.k * c.k)),
                ConvWeights::Penni(p) => {
                    let basis = map(&p.basis, p.d, c.k * c.k);
                    let j = c.c_in * p.d;
                    let (ui, uo, w) = compact(&p.coef, c.c_out, j);
                    let coef = (!w.is_empty()).then(|| (map(&w, uo.len(), ui.len()), ui, uo));
                    Cells::Penni {
                        d: p.d,
                        basis,
                        coef,
                    }
                }
            },
        })
        .collect()
}

/// Replaces `net`'s weights by crossbar layers holding `cells` (dense layers checked against
/// the backend's limits). With `trains`, a dense layer keeps a digital gradient and momentum
/// that `Net::program` turns into pulses (the SGD of `Net::update` skips them).
#[allow(clippy::too_many_arguments)]
pub fn install(
    be: &mut dyn Backend,
    net: &mut Net,
    cfg: &ExperimentConfig,
    xb: &Xbar,
    knobs: &[Knobs],
    cells: Vec<Vec<Cells>>,
    trains: bool,
    calibrating: bool,
) -> anyhow::Result<()> {
    let (batch, p) = (net.hyper.batch, net.instances);
    debug_assert_eq!(cells.len(), p);
    let k = &knobs[0];
    // Per layer, every instance's cells.
    let mut per_instance: Vec<_> = cells.into_iter().map(Vec::into_iter).collect();
    for (l, lb) in net.layers.iter_mut().enumerate() {
        let signed = input_signed(cfg, l);
        let mut layer: Vec<Cells> = per_instance
            .iter_mut()
            .map(|c| c.next().expect("cells for every layer"))
            .collect();
        lb.weights = match layer.remove(0) {
            Cells::Dense(c) => {
                let n = if trains { p * c.fan_in * c.fan_out } else { 1 };
                let mut grad = Param::new(be, &vec![0.0; n]);
                grad.trainable = false;
                let mut all = vec![vec![c]];
                all.extend(layer.into_iter().map(|c| match c {
                    Cells::Dense(c) => vec![c],
                    Cells::Penni { .. } => unreachable!("instances have equal layers"),
                }));
                let id = create_layers(be, xb, &all, knobs)?.remove(0);
                Weights::Xbar { id, signed, grad }
            }
            Cells::Penni { d, basis, coef } => {
                anyhow::ensure!(
                    p == 1,
                    "layer {l}: PENNI layers on crossbars hold one instance per network"
                );
                let Kind::Conv { geom, .. } = &lb.kind else {
                    unreachable!("PENNI layers are convolutions")
                };
                let basis = be.xbar_create(xb, vec![basis], vec![*k]);
                let coef = coef.map(|(c, ui, uo)| (be.xbar_create(xb, vec![c], vec![*k]), ui, uo));
                let px = PenniXbar::new(be, geom, d, batch, basis, signed, coef);
                Weights::PenniXbar(Box::new(px))
            }
        };
    }
    net.xbar = Some(NetXbar::new(be, p, calibrating));
    Ok(())
}

/// The cells now on `net`'s crossbars, per instance.
pub(super) fn collect(be: &mut dyn Backend, net: &Net) -> Vec<Vec<Cells>> {
    let mut per: Vec<Vec<Cells>> = (0..net.instances).map(|_| Vec::new()).collect();
    for lb in &net.layers {
        match &lb.weights {
            Weights::Xbar { id, .. } => {
                for (cells, c) in per.iter_mut().zip(be.xbar_cells(*id)) {
                    cells.push(Cells::Dense(c));
                }
            }
            // PENNI layers are in nets of one instance.
            Weights::PenniXbar(px) => per[0].push(Cells::Penni {
                d: px.d,
                basis: be.xbar_cells(px.basis).remove(0),
                coef: px.coef.as_ref().map(|c| {
                    let cells = be.xbar_cells(c.id).remove(0);
                    (cells, c.used_in.clone(), c.used_out.clone())
                }),
            }),
            _ => unreachable!("installed above"),
        }
    }
    per
}

/// Puts every weight layer of `net` (built from `model`, in evaluation mode) on crossbars per
/// `cfg.array`; with `adc_mode = "calibrated"` the ADC ranges are first calibrated on the
/// first images of `calib` (`net_insitu::calibration_rows`), run forward on a twin (`Twin`).
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

/// DFA's quantized feedback array: its settings and cells.
pub(super) type FeedbackCells<'f> = Option<(&'f Xbar, LayerCells)>;

/// The twin that calibrates ADC ranges: a copy of the network every read of which first
/// calibrates its range (`Backend::xbar_calibrate_read`). It runs on the backend itself where
/// that calibrates on the device and the reads carry no read noise (so the ranges are the
/// host's), freed afterwards; else on a host `CpuBackend`.
pub struct Twin<'a> {
    pub xb: &'a Xbar,
    pub knobs: &'a Knobs,
    /// Training: the seed of DFA's feedback (forward, loss and the learning rule's error
    /// pass, training mode); None: inference (forward in evaluation mode).
    pub seed: Option<u64>,
}

impl Twin<'_> {
    /// `cells` (and DFA's feedback array `feedback`) with ADC ranges calibrated on the first
    /// images of `calib` (`net_insitu::calibration_rows`), run through a twin of `model`.
    #[allow(clippy::too_many_arguments)]
    pub fn calibrate<'f>(
        &self,
        be: &mut dyn Backend,
        model: &Model,
        hyper: super::net::Hyper,
        cfg: &ExperimentConfig,
        cells: Vec<Cells>,
        feedback: FeedbackCells<'f>,
        calib: &Dataset,
    ) -> anyhow::Result<(Vec<Cells>, FeedbackCells<'f>)> {
        let conv = model.layers.iter().any(|l| matches!(l, Layer::Conv(_)));
        let rows = super::net_insitu::calibration_rows(hyper.batch, calib.len(), conv);
        let mut host = CpuBackend::new();
        let on_device = be.calibrates_on_device() && self.knobs.read_noise == 0.0;
        let cpu: &mut dyn Backend = if on_device { be } else { &mut host };
        let mark = cpu.mark();
        let hyper = super::net::Hyper {
            batch: rows,
            ..hyper
        };
        let mut twin = Net::new(cpu, model, hyper)?;
        let training = self.seed.is_some();
        twin.training = training;
        if let (Some(seed), Rule::Dfa) = (self.seed, cfg.train.rule) {
            let t = &cfg.train;
            super::net_dfa::attach(cpu, &mut twin, t.dfa_scope, t.feedback, &[seed]);
        }
        let knobs = std::slice::from_ref(self.knobs);
        install(
            cpu,
            &mut twin,
            cfg,
            self.xb,
            knobs,
            vec![cells],
            training,
            true,
        )?;
        let fx = feedback.as_ref().map(|(fx, _)| *fx);
        if let Some((fx, c)) = feedback {
            super::net_insitu::install_feedback(cpu, &mut twin, cfg, fx, vec![c], knobs)?;
        }
        cpu.write(twin.x, &calib.images[..rows * calib.features()]);
        twin.forward(cpu, rows);
        if training {
            cpu.write_u32(twin.y, &calib.labels[..rows]);
            twin.loss(cpu, rows);
            twin.backward(cpu, rows);
        }
        let fb = twin
            .dfa
            .as_ref()
            .and_then(|d| d.array.as_ref())
            .map(|fa| cpu.xbar_cells(fa.id).remove(0));
        let cells = collect(cpu, &twin).swap_remove(0);
        cpu.release(mark);
        Ok((cells, fx.zip(fb)))
    }
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
