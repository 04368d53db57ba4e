//! The words written once per layer: each cell's frozen word (stuck value or d2d factor, from
//! `xbar::stuck` and `xbar::d2d`), drift deviates, and each instance's parameter table
//! (`xbar::param_table`).

use crate::config::{AdcMode, Xbar};
use crate::rng::Purpose;
use crate::xbar::adc::Adc;
use crate::xbar::d2d::D2d;
use crate::xbar::direction::Direction;
use crate::xbar::draws::stream_key;
use crate::xbar::geometry::geometry;
use crate::xbar::mapping::nominal_curve;
use crate::xbar::param_table::{self as table, Field, INST_STRIDE};
use crate::xbar::stuck::Stuck;
use crate::xbar::{drift, Knobs, LayerCells};

pub(super) fn per_cell_drift(cfg: &Xbar) -> bool {
    drift::per_cell(&cfg.device.drift)
}

/// The frozen drift deviate z of every cell of one instance (`drift::Deviates`), or none.
pub(super) fn drift_deviates(layer: &LayerCells, cfg: &Xbar, knobs: &Knobs) -> Vec<f32> {
    match drift::Deviates::new(&cfg.device.drift, knobs, layer.instance, layer.layer) {
        Some(m) => (0..layer.total_cells()).map(|idx| m.z(idx)).collect(),
        None => Vec::new(),
    }
}

/// The frozen word of every cell of one instance (see the module doc), from the reference's
/// models (`xbar::stuck`, `xbar::d2d`, `xbar::drift`) in `effective::reference`'s order.
pub(super) fn frozen_words(layer: &LayerCells, cfg: &Xbar, knobs: &Knobs) -> Vec<u32> {
    let z_drift = drift_deviates(layer, cfg, knobs);
    let (inst, lay) = (layer.instance, layer.layer);
    let stuck = Stuck::new(&cfg.device, knobs, inst, lay, layer.g_min);
    let d2d = D2d::new(knobs, inst, lay);
    (0..layer.total_cells())
        .map(|idx| {
            let factor = d2d.map(|m| m.factor(idx));
            match stuck.and_then(|m| m.value(idx)) {
                Some(g) => {
                    let z = z_drift.get(idx).copied().unwrap_or(0.0);
                    let mut v = g * drift::factor(g, layer.g_min, z, &cfg.device.drift);
                    if let Some(f) = factor {
                        v *= f;
                    }
                    v.to_bits() | 0x8000_0000
                }
                None => factor.unwrap_or(1.0).to_bits(),
            }
        })
        .collect()
}

/// Writes `v` (f32 bits) into field `f` of one instance's words (forward word of a
/// per-direction field, or the transposed one with `transposed`).
fn put(w: &mut [u32], f: Field, transposed: bool, v: f32) {
    w[table::at(0, f, transposed)] = v.to_bits();
}

pub(super) fn instance_words(layer: &LayerCells, cfg: &Xbar, knobs: &Knobs) -> [u32; INST_STRIDE] {
    let mut w = [0u32; INST_STRIDE];
    let key = |p| stream_key(knobs.seed, p, layer.instance, layer.layer);
    for (f, p) in [
        (table::KEY_READ, Purpose::ReadNoise),
        (table::KEY_OUT, Purpose::OutputNoise),
        (table::KEY_ROUND, Purpose::Rounding),
        (table::KEY_C2C, Purpose::C2c),
    ] {
        w[f.word..f.word + 2].copy_from_slice(&key(p));
    }
    let base = nominal_curve(cfg, knobs);
    let rn = drift::read_noise_at(knobs.read_noise, &cfg.device.drift);
    put(&mut w, table::READ_NOISE, false, rn);
    put(&mut w, table::OUTPUT_NOISE, false, knobs.output_noise);
    put(&mut w, table::C2C, false, knobs.c2c);
    put(&mut w, table::LR, false, knobs.lr);
    put(&mut w, table::DW_1, false, 2.0 * layer.scale / base.p_max);
    put(&mut w, table::P_MAX, false, base.p_max);
    put(&mut w, table::G_MIN, false, base.g_min);
    adc_words(layer, cfg, &mut w);
    w
}

/// The ADC words of one instance (`INV_LSB`, `Y_SCALE`, `ADC_FLOOR` of both directions).
pub(super) fn adc_words(layer: &LayerCells, cfg: &Xbar, w: &mut [u32]) {
    for dir in [Direction::Forward, Direction::Transposed] {
        let geo = geometry(layer, dir, cfg);
        let adc = Adc::new(layer, dir, cfg);
        let qmax = ((1u64 << geo.in_bits) - 1) as f64;
        // Raw is step x codes, or for `minmax` drift_gain / unit x the summed currents.
        let per_raw = if cfg.array.adc_mode == AdcMode::MinMax {
            layer.drift_gain as f64 / layer.unit() as f64
        } else {
            adc.step as f64
        };
        let y_scale = per_raw * layer.scale as f64 / (layer.max_code() as f64 * qmax);
        let t = dir == Direction::Transposed;
        put(w, table::INV_LSB, t, adc.inv_lsb);
        put(w, table::Y_SCALE, t, y_scale as f32);
        put(w, table::ADC_FLOOR, t, adc.floor_i);
    }
}
