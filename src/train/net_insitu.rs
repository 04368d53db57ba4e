//! Networks trained in situ: every weight layer (a conv's unrolled kernel matrix
//! `[C_out][C_in k k]`, one kernel per crossbar column, or an FC `[fan_out][fan_in]`) lives as
//! conductances on a crossbar layer. Reads replace the weight products (`net_products`); the
//! weight gradient stays digital, goes through the momentum, and is programmed as pulses by
//! the step every crossbar layer shares (`program.rs`). Calibrated ADC ranges are set on one
//! batch (at most 16 images for conv nets) run through the freshly programmed arrays on a twin
//! of the network (on the device where the backend calibrates there, else on the host), the
//! same twin crossbar evaluation and recalibration during training calibrate on
//! (`net_xbar_eval::Twin`). DFA's feedback is ideal, or with
//! `array.feedback_bits` > 0 one fixed quantized array holding every layer's (`net_dfa`).

use super::insitu::{knobs, map_layers};
use super::net::{Net, Weights};
use super::net_dfa::{self, FeedbackArray};
use super::net_instances::view;
use super::net_xbar_eval::{self as twin, Cells};
use crate::backend::xbar::{MatView, XbarActivity, XbarId, XbarRead};
use crate::backend::*;
use crate::config::{AdcMode, ExperimentConfig};
use crate::data::Dataset;
use crate::nn::model::{ConvWeights, Layer, Model};
use crate::xbar::mapping::map_weights;
use crate::xbar::read::Direction;
use crate::xbar::{LayerCells, Xbar};

/// Layer id of the DFA feedback array in the random streams (weights use 0..63).
const FEEDBACK_LAYER: u32 = 63;

/// Counters of an in-situ conv network.
pub struct NetXbar {
    steps: super::program::XbarSteps,
    /// Every read first calibrates its ADC range on the host (the calibration pass).
    calibrating: bool,
}

/// The nominal weights `[out][in]` of instance `inst` stored on crossbar layer `id`.
pub fn decode(be: &mut dyn Backend, id: XbarId, inst: usize) -> Vec<f32> {
    be.xbar_cells(id)[inst].decode_weights()
}

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
/// `models[i]`) with the knobs of population instance `insts[i]` drawn from `seeds[i]`; with
/// `adc_mode = "calibrated"` each instance's ADC ranges are first calibrated on the start of
/// `calib`. DFA's feedback, when the net has it, goes on a quantized array with
/// `array.feedback_bits` > 0, else stays digital (ideal projection).
pub fn attach(
    be: &mut dyn Backend,
    net: &mut Net,
    models: &[Model],
    cfg: &ExperimentConfig,
    calib: &Dataset,
    seeds: &[u64],
    insts: &[usize],
) -> anyhow::Result<()> {
    let Some(array) = &cfg.array else {
        return Ok(());
    };
    let xb = cfg.xbar(array);
    let fx = feedback_xbar(cfg, net)?;
    let (mut all_knobs, mut all_cells, mut all_fb) = (Vec::new(), Vec::new(), Vec::new());
    for (i, model) in models.iter().enumerate() {
        let k = knobs(cfg, &cfg.instances()[insts[i]], seeds[i]);
        let layers = (0..model.layers.len())
            .map(|l| dense_weights(model, l))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut cells: Vec<Cells> = map_layers(cfg, &xb, &k, &layers)?
            .into_iter()
            .map(Cells::Dense)
            .collect();
        let mut fb = fx.as_ref().map(|fx| {
            let (_, s) = FeedbackArray::layout(&net_dfa::signal_sizes(net, cfg.train.dfa_scope));
            let classes = net.layers.last().map_or(0, |lb| lb.out_len(1));
            let w = net_dfa::stacked(be, net, i);
            (fx, map_weights(&w, s, classes, None, fx, 0, FEEDBACK_LAYER))
        });
        if array.adc_mode == AdcMode::Calibrated {
            let twin = twin::Twin {
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
    twin::install(be, net, cfg, &xb, &all_knobs, all_cells, true, false)?;
    if let Some(fx) = &fx {
        install_feedback(be, net, cfg, fx, all_fb, &all_knobs)?;
    }
    Ok(())
}

/// The settings of DFA's quantized feedback array (`array.feedback_bits` > 0): the array's,
/// with the feedback's bits per weight. None for an ideal projection.
pub(super) fn feedback_xbar(cfg: &ExperimentConfig, net: &Net) -> anyhow::Result<Option<Xbar>> {
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

/// Puts `net`'s stacked DFA feedback on a fixed array holding `cells` (one per instance).
pub(super) fn install_feedback(
    be: &mut dyn Backend,
    net: &mut Net,
    cfg: &ExperimentConfig,
    fx: &Xbar,
    cells: Vec<LayerCells>,
    knobs: &[crate::xbar::Knobs],
) -> anyhow::Result<()> {
    let (offsets, width) = FeedbackArray::layout(&net_dfa::signal_sizes(net, cfg.train.dfa_scope));
    let what = format!(
        "DFA's feedback array ({width} outputs, {} instances)",
        cells.len()
    );
    crate::backend::xbar::check_cells(&*be, &what, &cells[0], cells.len())?;
    let id = be.xbar_create(fx, cells, knobs.to_vec());
    let signals = be.alloc(net.instances * net.hyper.batch * width.max(1));
    if let Some(dfa) = &mut net.dfa {
        dfa.array = Some(FeedbackArray {
            id,
            signals,
            width,
            offsets,
        });
    }
    Ok(())
}

impl NetXbar {
    /// Fresh counters of `instances` chips; with `calibrating`, every read first calibrates
    /// its ADC range.
    pub fn new(be: &mut dyn Backend, instances: usize, calibrating: bool) -> NetXbar {
        NetXbar {
            steps: super::program::XbarSteps::new(be, instances),
            calibrating,
        }
    }

    /// Programming steps taken so far.
    pub fn steps(&self) -> u32 {
        self.steps.steps()
    }
}

impl Net {
    /// The loss gradient's scale: 1 / rows, or 1 in the calibration pass (every read rescales
    /// its inputs, so the scale only has to be the same as the calibration's own).
    pub(super) fn loss_scale(&self, rows: usize) -> f32 {
        if self.xbar.as_ref().is_some_and(|x| x.calibrating) {
            1.0
        } else {
            1.0 / rows as f32
        }
    }
}

/// Images the ADC calibration reads: one batch, for a conv net at most `CALIBRATION_IMAGES`.
/// Every conv read of an image is P input vectors, so a few images already sample each
/// column's partial sums thousands of times; the calibration runs on the CPU reference, whose
/// time would otherwise grow with the batch (minutes for VGG-8 at batch 64). An FC read of an
/// image is one vector, so FC-only nets take the whole batch.
pub(super) fn calibration_rows(batch: usize, available: usize, conv: bool) -> usize {
    let cap = if conv { CALIBRATION_IMAGES } else { batch };
    batch.min(cap).min(available).max(1)
}

const CALIBRATION_IMAGES: usize = 16;

impl Net {
    /// `y[rows][out] = x[rows][in]` through crossbar `id` (`x` and `y` as (buffer, row
    /// length), one instance), with the next read counter.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn xbar_read(
        &self,
        be: &mut dyn Backend,
        id: XbarId,
        dir: Direction,
        signed: bool,
        (x, x_ld): (Buf, usize),
        (y, y_ld): (Buf, usize),
        rows: usize,
    ) {
        let (x, y) = (view(x, x_ld, 0), view(y, y_ld, 0));
        self.xbar_read_view(be, id, dir, signed, x, y, rows)
    }

    /// [`Net::xbar_read`] of every instance: `x` and `y` as `[P][rows][ld]` views.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn xbar_read_view(
        &self,
        be: &mut dyn Backend,
        id: XbarId,
        dir: Direction,
        signed: bool,
        x: MatView,
        y: MatView,
        rows: usize,
    ) {
        let xs = self.xbar.as_ref().expect("crossbar layers have counters");
        let r = xs.steps.next_read();
        let op = XbarRead {
            dir,
            signed,
            rows: rows as u32,
            read_counter: r,
        };
        if xs.calibrating {
            // The calibration pass: ranges and reads with read counter 0.
            let op = XbarRead {
                read_counter: 0,
                ..op
            };
            be.xbar_calibrate_read(id, x, y, &op);
        } else {
            be.xbar_read(id, x, y, &op);
        }
    }

    /// Programs the crossbar layers after `update`: momentum of the digital gradient (zero
    /// weights and learning rate leave no digital weights), then pulses from the step.
    pub fn program(&self, be: &mut dyn Backend) {
        let Some(xs) = &self.xbar else {
            return;
        };
        let step = xs.steps.next_step();
        for lb in &self.layers[self.trained_from..] {
            let Weights::Xbar { id, grad, .. } = &lb.weights else {
                continue;
            };
            let sp = SgdParams {
                n: (grad.len / self.instances) as u32,
                count: grad.len as u32,
                off: 0,
                nesterov: self.hyper.nesterov as u32,
                momentum: self.hyper.momentum,
                weight_decay: self.hyper.weight_decay,
                _pad1: [0.0; 2],
            };
            // `grad.w` stays zero between steps.
            xs.steps.program(be, *id, grad.w, grad.v, grad.g, &sp, step);
        }
    }

    /// Crossbar activity of every weight layer so far, summed over the instances (empty for
    /// float nets). A crossbar layer counts one update per programming step of all its
    /// instances; every instance's programming counts here, as if each were its own chip.
    pub fn activity(&self, be: &mut dyn Backend) -> Vec<XbarActivity> {
        let p = self.instances as u64;
        self.layers
            .iter()
            .flat_map(|lb| match &lb.weights {
                Weights::Xbar { id, .. } => {
                    let mut a = be.xbar_activity(*id);
                    a.updates *= p;
                    vec![a]
                }
                Weights::PenniXbar(px) => {
                    let mut a = vec![be.xbar_activity(px.basis)];
                    a.extend(px.coef.as_ref().map(|c| be.xbar_activity(c.id)));
                    a
                }
                _ => vec![],
            })
            .collect()
    }
}
