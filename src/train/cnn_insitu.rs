//! Conv networks trained in situ: every weight layer (a conv's unrolled kernel matrix
//! `[C_out][C_in k k]`, one kernel per crossbar column, or an FC `[fan_out][fan_in]`) lives as
//! conductances on a crossbar layer. Reads replace the weight products (`cnn_products`); the
//! weight gradient stays digital, goes through the momentum, and is programmed as pulses, as
//! on the MLP path (`net.rs`). Calibrated ADC ranges are set on up to 16 images run through the
//! freshly programmed arrays on a CPU twin of the network.

use std::cell::Cell;

use super::cnn_net::{CnnNet, Hyper, Param, Weights};
use super::insitu::{init_limit, input_signed, knobs};
use crate::backend::xbar::{MatView, XbarActivity, XbarId, XbarRead};
use crate::backend::*;
use crate::config::{AdcMode, ExperimentConfig, Rule};
use crate::cpu::CpuBackend;
use crate::data::Dataset;
use crate::nn::model::{ConvWeights, Layer, Model};
use crate::xbar::mapping::map_for_training;
use crate::xbar::read::{calibrate, Direction};
use crate::xbar::{Knobs, LayerCells, Xbar};

/// Counters of an in-situ conv network.
pub struct CnnXbar {
    zero_lr: Buf,
    /// Learning rate -1: SGD on zero weights leaves the Nesterov step itself in them.
    minus_one_lr: Buf,
    reads: Cell<u32>,
    steps: Cell<u32>,
    /// Every read first calibrates its ADC range on the host (the calibration pass).
    calibrating: bool,
}

/// The nominal weights `[out][in]` stored on crossbar layer `id`.
pub fn decode(be: &mut dyn Backend, id: XbarId) -> Vec<f32> {
    be.xbar_cells(id)[0].decode_weights()
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

/// Puts every weight layer of `net` (built from `model`) on crossbars per `cfg.array`; with
/// `adc_mode = "calibrated"` the ADC ranges are first calibrated on the start of `calib`.
/// DFA's feedback, when the net has it, stays digital (ideal projection).
pub fn attach(
    be: &mut dyn Backend,
    net: &mut CnnNet,
    model: &Model,
    cfg: &ExperimentConfig,
    calib: &Dataset,
    seed: u64,
) -> anyhow::Result<()> {
    let Some(array) = &cfg.array else {
        return Ok(());
    };
    anyhow::ensure!(
        cfg.train.rule == Rule::Bp || array.feedback_bits == 0,
        "array.feedback_bits = {}: conv networks under DFA use an ideal (digital) feedback \
         projection; allowed: 0",
        array.feedback_bits
    );
    let xb = cfg.xbar(array);
    let inst = &cfg.instances()[0];
    let k = knobs(cfg, inst, seed, inst.lr.unwrap_or(cfg.optimizer.lr));
    let mut cells = Vec::new();
    for l in 0..model.layers.len() {
        let (w, fi, fo) = dense_weights(model, l)?;
        let scale = cfg.train.weight_range as f32
            * init_limit(cfg.network.init, cfg.network.activation, fi, fo);
        cells.push(map_for_training(w, fo, fi, scale, &xb, &k, 0, l as u32)?);
    }
    let signed: Vec<bool> = (0..cells.len()).map(|l| input_signed(cfg, l)).collect();
    if array.adc_mode == AdcMode::Calibrated {
        cells = calibrated(model, net.hyper, cfg, &xb, &k, cells, &signed, calib, seed)?;
    }
    for (l, c) in cells.iter().enumerate() {
        crate::backend::xbar::check_cells(&*be, &format!("layer {l}"), c, 1)?;
    }
    install(be, net, &xb, &k, cells, &signed, false);
    Ok(())
}

/// Replaces `net`'s weights by crossbar layers holding `cells`.
fn install(
    be: &mut dyn Backend,
    net: &mut CnnNet,
    xb: &Xbar,
    k: &Knobs,
    cells: Vec<LayerCells>,
    signed: &[bool],
    calibrating: bool,
) {
    for ((lb, c), &signed) in net.layers.iter_mut().zip(cells).zip(signed) {
        let mut grad = Param::new(be, &vec![0.0; c.fan_in * c.fan_out]);
        // The SGD of `CnnNet::update` skips it: `program` applies the momentum as pulses.
        grad.trainable = false;
        let id = be.xbar_create(xb, vec![c], vec![*k]);
        lb.weights = Weights::Xbar { id, signed, grad };
    }
    net.xbar = Some(CnnXbar::new(be, calibrating));
}

impl CnnXbar {
    /// Fresh counters; with `calibrating`, every read first calibrates its ADC range.
    pub fn new(be: &mut dyn Backend, calibrating: bool) -> CnnXbar {
        let zero_lr = be.alloc(1);
        let minus_one_lr = be.alloc(1);
        be.write(minus_one_lr, &[-1.0]);
        CnnXbar {
            zero_lr,
            minus_one_lr,
            reads: Cell::new(0),
            steps: Cell::new(0),
            calibrating,
        }
    }
}

/// Images the ADC calibration of a conv net reads: one batch, at most `CALIBRATION_IMAGES`.
/// Every conv read of an image is P input vectors, so a few images already sample each
/// column's partial sums thousands of times; the calibration runs on the CPU reference, whose
/// time would otherwise grow with the batch (minutes for VGG-8 at batch 64).
pub(super) fn calibration_rows(batch: usize, available: usize) -> usize {
    batch.min(CALIBRATION_IMAGES).min(available).max(1)
}

const CALIBRATION_IMAGES: usize = 16;

/// `cells` with ADC ranges calibrated on the first `calibration_rows` images: the network runs forward, loss and its
/// learning rule's error pass on a CPU twin whose every read calibrates its range first.
#[allow(clippy::too_many_arguments)]
fn calibrated(
    model: &Model,
    hyper: Hyper,
    cfg: &ExperimentConfig,
    xb: &Xbar,
    k: &Knobs,
    cells: Vec<LayerCells>,
    signed: &[bool],
    calib: &Dataset,
    seed: u64,
) -> anyhow::Result<Vec<LayerCells>> {
    let rows = calibration_rows(hyper.batch, calib.len());
    let mut cpu = CpuBackend::new();
    let mut twin = CnnNet::new(
        &mut cpu,
        model,
        Hyper {
            batch: rows,
            ..hyper
        },
    )?;
    if cfg.train.rule == Rule::Dfa {
        let t = &cfg.train;
        super::cnn_dfa::attach(&mut cpu, &mut twin, t.dfa_scope, t.feedback, seed);
    }
    install(&mut cpu, &mut twin, xb, k, cells, signed, true);
    cpu.write(twin.x, &calib.images[..rows * calib.features()]);
    cpu.write_u32(twin.y, &calib.labels[..rows]);
    twin.forward(&mut cpu, rows);
    twin.loss(&mut cpu, rows);
    twin.backward(&mut cpu, rows);
    Ok(twin
        .layers
        .iter()
        .map(|lb| match &lb.weights {
            Weights::Xbar { id, .. } => cpu.xbar_cells(*id).remove(0),
            _ => unreachable!("installed above"),
        })
        .collect())
}

impl CnnNet {
    /// `y[rows][out] = x[rows][in]` through crossbar `id` (`x` and `y` as (buffer, row
    /// length)), with the next read counter.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn xbar_read(
        &self,
        be: &mut dyn Backend,
        id: XbarId,
        dir: Direction,
        signed: bool,
        x: (Buf, usize),
        y: (Buf, usize),
        rows: usize,
    ) {
        let xs = self.xbar.as_ref().expect("crossbar layers have counters");
        if xs.calibrating {
            let v = be.read(x.0);
            let v = &v[..rows * x.1];
            let range = input_range(v, signed);
            let hx = &mut be.host_xbars()[id.0];
            calibrate(
                &mut hx.layers[0],
                dir,
                v,
                rows,
                range,
                signed,
                &hx.cfg,
                &hx.knobs[0],
                0,
            );
        }
        let r = xs.reads.get();
        xs.reads.set(r.wrapping_add(1));
        let view = |(buf, ld): (Buf, usize)| MatView {
            buf,
            off: 0,
            ld: ld as u32,
            stride: 0,
        };
        let op = XbarRead {
            dir,
            signed,
            rows: rows as u32,
            read_counter: r,
        };
        be.xbar_read(id, view(x), view(y), &op);
    }

    /// Programs the crossbar layers after `update`: momentum of the digital gradient (zero
    /// weights and learning rate leave no digital weights), then pulses from the step.
    pub fn program(&self, be: &mut dyn Backend) {
        let Some(xs) = &self.xbar else {
            return;
        };
        let step = xs.steps.get();
        xs.steps.set(step.wrapping_add(1));
        for lb in &self.layers {
            let Weights::Xbar { id, grad, .. } = &lb.weights else {
                continue;
            };
            let n = grad.len as u32;
            let sp = SgdParams {
                n,
                count: n,
                off: 0,
                nesterov: self.hyper.nesterov as u32,
                momentum: self.hyper.momentum,
                weight_decay: self.hyper.weight_decay,
                _pad1: [0.0; 2],
            };
            if self.hyper.nesterov {
                // `grad.w` stays zero between steps; here it briefly holds the Nesterov step.
                be.sgd(grad.w, grad.v, grad.g, xs.minus_one_lr, &sp);
                be.xbar_program(*id, grad.w, step);
                be.fill(
                    grad.w,
                    &FillParams {
                        off: 0,
                        count: n,
                        value: 0.0,
                        _pad: 0,
                    },
                );
            } else {
                be.sgd(grad.w, grad.v, grad.g, xs.zero_lr, &sp);
                be.xbar_program(*id, grad.v, step);
            }
        }
    }

    /// Crossbar activity of every weight layer so far (empty for float nets).
    pub fn activity(&self, be: &mut dyn Backend) -> Vec<XbarActivity> {
        self.layers
            .iter()
            .flat_map(|lb| match &lb.weights {
                Weights::Xbar { id, .. } => vec![be.xbar_activity(*id)],
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
