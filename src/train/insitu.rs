//! Putting a network's weights on simulated crossbars: per-instance knobs, the fixed weight
//! range of each layer, training mapping of the initial weights, DFA feedback arrays.

use std::cell::Cell;

use super::net::{Net, XbarNet};
use crate::backend::{Activation, Backend};
use crate::config::{ExperimentConfig, Init, InstanceConfig};
use crate::data::Normalize;
use crate::xbar::mapping::{map_for_training, map_weights};
use crate::xbar::{Knobs, Xbar};

/// Layer id of the DFA feedback arrays in the random streams (weights use 0..63).
const FEEDBACK_LAYER: u32 = 63;

/// The device knobs of one instance: the device's, with the instance's overrides.
pub fn knobs(cfg: &ExperimentConfig, inst: &InstanceConfig, seed: u64, lr: f64) -> Knobs {
    let dev = cfg.device.clone().unwrap_or_default();
    let mut k = Knobs::from_device(&dev, lr as f32, seed);
    let set = |v: Option<f64>, dst: &mut f32| {
        if let Some(v) = v {
            *dst = v as f32;
        }
    };
    set(inst.c2c, &mut k.c2c);
    set(inst.d2d, &mut k.d2d);
    set(inst.read_noise, &mut k.read_noise);
    set(inst.nl_ltp, &mut k.nl_ltp);
    set(inst.nl_ltd, &mut k.nl_ltd);
    k
}

/// Half-width of the uniform initialisation of a layer (the He or Xavier limit).
pub fn init_limit(init: Init, act: Activation, fan_in: usize, fan_out: usize) -> f32 {
    let he = (6.0 / fan_in as f32).sqrt();
    let xavier = (6.0 / (fan_in + fan_out) as f32).sqrt();
    match (init, act) {
        (Init::He, _) => he,
        (Init::Xavier, _) => xavier,
        (Init::Zero, Activation::Relu) => he,
        (Init::Zero, _) => xavier,
    }
}

/// Maps `net`'s initial weights onto crossbars (one analog cell per weight) and, for DFA with
/// `array.feedback_bits` > 0, the feedback matrices onto fixed arrays.
pub fn attach(
    be: &mut dyn Backend,
    net: &mut Net,
    cfg: &ExperimentConfig,
    weights: &[Vec<f32>],
    feedback: Option<&[f32]>,
    instances: &[(u64, f64)],
) -> anyhow::Result<()> {
    let Some(array) = &cfg.array else {
        return Ok(());
    };
    let xb: Xbar = cfg.xbar(array);
    let insts = cfg.instances();
    let all_knobs: Vec<Knobs> = instances
        .iter()
        .zip(&insts)
        .map(|((seed, lr), inst)| knobs(cfg, inst, *seed, *lr))
        .collect();
    let sizes = net.spec.sizes.clone();
    let mut layers = Vec::new();
    let mut largest = 0;
    for l in 0..sizes.len() - 1 {
        let (fi, fo) = (sizes[l], sizes[l + 1]);
        largest = largest.max(fi * fo);
        let scale = cfg.train.weight_range as f32
            * init_limit(cfg.network.init, cfg.network.activation, fi, fo);
        let mut cells = Vec::new();
        for (p, k) in all_knobs.iter().enumerate() {
            let w = &weights[l][p * fi * fo..(p + 1) * fi * fo];
            cells.push(map_for_training(w, fo, fi, scale, &xb, k, p as u32, l as u32)?);
        }
        layers.push(be.xbar_create(&xb, cells, all_knobs.clone()));
    }
    let feedback_id = match (feedback, array.feedback_bits) {
        (Some(fb), bits) if bits > 0 => {
            let mut fa = array.clone();
            fa.weight_bits = bits;
            fa.cell_bits = fa.cell_bits.min(bits);
            let fx = Xbar {
                array: fa,
                device: xb.device.clone(),
            };
            fx.validate(false)?;
            let classes = sizes[sizes.len() - 1];
            let s: usize = sizes[1..sizes.len() - 1].iter().sum();
            let cells = (0..all_knobs.len())
                .map(|p| {
                    let w = &fb[p * s * classes..(p + 1) * s * classes];
                    map_weights(w, s, classes, None, &fx, p as u32, FEEDBACK_LAYER)
                })
                .collect();
            Some(be.xbar_create(&fx, cells, all_knobs.clone()))
        }
        _ => None,
    };
    let signed_inputs = (0..sizes.len() - 1)
        .map(|l| {
            if l == 0 {
                cfg.data.normalize != Normalize::Unit
            } else {
                cfg.network.activation != Activation::Relu && cfg.network.activation != Activation::Sigmoid
            }
        })
        .collect();
    net.xbar = Some(XbarNet {
        layers,
        feedback: feedback_id,
        signed_inputs,
        zero_weights: be.alloc(largest * all_knobs.len()),
        zero_lr: be.alloc(all_knobs.len()),
        reads: Cell::new(0),
        steps: Cell::new(0),
    });
    Ok(())
}
