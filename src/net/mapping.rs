//! Putting a network's weights on simulated crossbars: per-instance knobs, the fixed weight
//! range of each layer, training mapping of the initial weights, the backend's arrays.

use crate::backend::{Activation, Backend, XbarId};
use crate::config::{ExperimentConfig, Init, InstanceConfig};
use crate::data::Normalize;
use crate::xbar::mapping::map_for_training;
use crate::xbar::{Knobs, LayerCells, Xbar};

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
fn init_limit(init: Init, act: Activation, fan_in: usize, fan_out: usize) -> f32 {
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
        crate::backend::check_cells(&*be, &what, &cells[0][l], cells.len())?;
    }
    Ok((0..n_layers)
        .map(|l| {
            let per_instance = cells.iter().map(|c| c[l].clone()).collect();
            be.xbar_create(xb, per_instance, knobs.to_vec())
        })
        .collect())
}
