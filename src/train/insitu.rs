//! Putting a network's weights on simulated crossbars: per-instance knobs, the fixed weight
//! range of each layer, training mapping of the initial weights, DFA feedback arrays.

use super::calibrate::{calibrate_instance, Recalibration};
use super::net::{Net, XbarNet};
use crate::backend::{Activation, Backend, XbarId};
use crate::config::{AdcMode, ExperimentConfig, Init, InstanceConfig};
use crate::data::{Dataset, Normalize};
use crate::xbar::mapping::{map_for_training, map_weights};
use crate::xbar::{Knobs, LayerCells, Xbar};

/// Layer id of the DFA feedback arrays in the random streams (weights use 0..63).
const FEEDBACK_LAYER: u32 = 63;

/// The device knobs of one instance (drawn from `seed`): the device's, with the instance's
/// overrides and learning rate.
pub fn knobs(cfg: &ExperimentConfig, inst: &InstanceConfig, seed: u64) -> Knobs {
    let dev = cfg.device.clone().unwrap_or_default();
    let lr = inst.lr.unwrap_or(cfg.optimizer.lr);
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

/// Whether weight layer `l`'s inputs can be negative (then read as two passes): the data
/// unless normalised to [0, 1], and hidden activations of tanh or identity units.
pub fn input_signed(cfg: &ExperimentConfig, l: usize) -> bool {
    if l == 0 {
        cfg.data.normalize != Normalize::Unit
    } else {
        matches!(
            cfg.network.activation,
            Activation::Tanh | Activation::Identity
        )
    }
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

/// One instance's weight layers mapped for training (one analog cell per weight, the fixed
/// range `train.weight_range` times the layer's initialisation limit): `layers[l]` is the
/// weights `[fan_out][fan_in]`, fan_in and fan_out.
pub fn map_layers(
    cfg: &ExperimentConfig,
    xb: &Xbar,
    k: &Knobs,
    layers: &[(&[f32], usize, usize)],
) -> anyhow::Result<Vec<LayerCells>> {
    layers
        .iter()
        .enumerate()
        .map(|(l, &(w, fi, fo))| {
            let scale = cfg.train.weight_range as f32
                * init_limit(cfg.network.init, cfg.network.activation, fi, fo);
            // Streams key on the instance's own seed (instance id 0), so an instance draws the
            // same noise alone or inside a population.
            Ok(map_for_training(w, fo, fi, scale, xb, k, 0, l as u32)?)
        })
        .collect()
}

/// Crossbar layers on `be` holding `cells[p][l]` (instance p's layer l), checked against the
/// backend's limits first.
pub fn create_layers(
    be: &mut dyn Backend,
    xb: &Xbar,
    cells: &[Vec<LayerCells>],
    knobs: &[Knobs],
) -> anyhow::Result<Vec<XbarId>> {
    let n_layers = cells.first().map_or(0, Vec::len);
    for l in 0..n_layers {
        let what = format!("layer {} ({} instances)", l + 1, cells.len());
        crate::backend::xbar::check_cells(&*be, &what, &cells[0][l], cells.len())?;
    }
    Ok((0..n_layers)
        .map(|l| {
            let per_instance = cells.iter().map(|c| c[l].clone()).collect();
            be.xbar_create(xb, per_instance, knobs.to_vec())
        })
        .collect())
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
    calib: &Dataset,
) -> anyhow::Result<()> {
    let Some(array) = &cfg.array else {
        return Ok(());
    };
    let xb: Xbar = cfg.xbar(array);
    let insts = cfg.instances();
    let all_knobs: Vec<Knobs> = instances
        .iter()
        .zip(&insts)
        .map(|((seed, _), inst)| knobs(cfg, inst, *seed))
        .collect();
    let sizes = net.spec.sizes.clone();
    let n_layers = sizes.len() - 1;
    let largest = (0..n_layers)
        .map(|l| sizes[l] * sizes[l + 1])
        .max()
        .unwrap_or(0);
    // cells[p][l]: instance p's arrays.
    let mut cells: Vec<Vec<LayerCells>> = all_knobs
        .iter()
        .enumerate()
        .map(|(p, k)| {
            let layers: Vec<(&[f32], usize, usize)> = (0..n_layers)
                .map(|l| {
                    let (fi, fo) = (sizes[l], sizes[l + 1]);
                    (&weights[l][p * fi * fo..(p + 1) * fi * fo], fi, fo)
                })
                .collect();
            map_layers(cfg, &xb, k, &layers)
        })
        .collect::<anyhow::Result<_>>()?;
    let fx = match (feedback, array.feedback_bits) {
        (Some(_), bits) if bits > 0 => {
            let mut fa = array.clone();
            fa.weight_bits = bits;
            fa.cell_bits = fa.cell_bits.min(bits);
            let fx = Xbar {
                array: fa,
                device: xb.device.clone(),
            };
            fx.validate(false)?;
            Some(fx)
        }
        _ => None,
    };
    let classes = sizes[n_layers];
    let s: usize = sizes[1..n_layers].iter().sum();
    let mut fb_cells: Vec<LayerCells> = match (&fx, feedback) {
        (Some(fx), Some(fb)) => (0..all_knobs.len())
            .map(|p| {
                let w = &fb[p * s * classes..(p + 1) * s * classes];
                map_weights(w, s, classes, None, fx, 0, FEEDBACK_LAYER)
            })
            .collect(),
        _ => Vec::new(),
    };
    let signed_inputs: Vec<bool> = (0..n_layers).map(|l| input_signed(cfg, l)).collect();
    let mut recalibration = None;
    if array.adc_mode == AdcMode::Calibrated {
        let rows = (cfg.train.batch_size as usize).min(calib.len()).max(1);
        let x = &calib.images[..rows * calib.features()];
        if array.adc_recalibrate_steps > 0 || array.adc_recalibrate_epoch {
            recalibration = Some(Recalibration {
                xb: xb.clone(),
                fx: fx.clone(),
                knobs: all_knobs.clone(),
                act: cfg.network.activation,
                rule: cfg.train.rule,
                x: x.to_vec(),
                labels: calib.labels[..rows].to_vec(),
            });
        }
        for (p, k) in all_knobs.iter().enumerate() {
            let fb = fb_cells.get_mut(p).zip(fx.as_ref());
            calibrate_instance(
                &mut cells[p],
                fb,
                &xb,
                k,
                cfg.network.activation,
                &signed_inputs,
                cfg.train.rule,
                x,
                &calib.labels[..rows],
            );
        }
    }
    let layers = create_layers(be, &xb, &cells, &all_knobs)?;
    let feedback_id = fx.map(|fx| be.xbar_create(&fx, fb_cells, all_knobs.clone()));
    net.xbar = Some(XbarNet {
        layers,
        feedback: feedback_id,
        signed_inputs,
        zero_weights: be.alloc(largest * all_knobs.len()),
        steps: super::program::XbarSteps::new(be, all_knobs.len()),
        recalibration,
    });
    Ok(())
}
