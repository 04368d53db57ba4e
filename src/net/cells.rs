//! Crossbar cells on a network: a weight layer's cells, a trained model mapped for inference,
//! the cells put on a network's crossbar layers (and DFA's feedback array) and read back.
//! Weights are mapped for inference with `map_weights` at a range of max |w| per matrix: the
//! trained weights are known, so the full code range covers them without clipping.

use super::dfa;
use super::mapping::{create_layers, input_signed};
use super::network::{FeedbackArray, Kind, Net, Weights};
use super::param::Param;
use super::penni_xbar::{compact, PenniXbar};
use super::xbar_steps::XbarSteps;
use crate::backend::*;
use crate::config::ExperimentConfig;
use crate::nn::model::{ConvWeights, Layer, Model};
use crate::xbar::mapping::map_weights;
use crate::xbar::{Knobs, LayerCells, Xbar};

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
    net.xbar = Some(XbarSteps::new(be, p, calibrating));
    Ok(())
}

/// The cells now on `net`'s crossbars, per instance.
pub fn collect(be: &mut dyn Backend, net: &Net) -> Vec<Vec<Cells>> {
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

/// Puts `net`'s stacked DFA feedback on a fixed array holding `cells` (one per instance).
pub(super) fn install_feedback(
    be: &mut dyn Backend,
    net: &mut Net,
    cfg: &ExperimentConfig,
    fx: &Xbar,
    cells: Vec<LayerCells>,
    knobs: &[crate::xbar::Knobs],
) -> anyhow::Result<()> {
    let (offsets, width) = FeedbackArray::layout(&dfa::signal_sizes(net, cfg.train.dfa_scope));
    let what = format!(
        "DFA's feedback array ({width} outputs, {} instances)",
        cells.len()
    );
    crate::backend::check_cells(&*be, &what, &cells[0], cells.len())?;
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
