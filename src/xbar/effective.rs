//! Effective conductances of a read, `[col][slice][line]` (docs/crossbar.md, "Read"): per cell
//!
//!   G_eff = (stuck value or g) * drift * max(0, 1 + d2d z_d2d),
//!
//! the stuck value G_min or 1 (`stuck`), drift = `drift::factor` of the cell (t^(-nu_i)), the
//! d2d factor frozen per cell (`d2d`).
//!
//! `reference` computes them cell by cell with their draws, for each call of the reference
//! read; [`pack`] gives the same values for the GEMM, exactly. The frozen draws (d2d factor,
//! stuck state, drift-exponent normal) depend only on the cell index and the instance's knobs,
//! so [`EffCache`] draws them once per layer; the packed matrices depend on the stored
//! conductances too and are kept until the next programming event.

use rayon::prelude::*;

use super::d2d::D2d;
use super::direction::Direction;
use super::drift;
use super::geometry::{cell_id, geometry, Geometry};
use super::knobs::Knobs;
use super::mapping::LayerCells;
use super::stuck::Stuck;
use crate::config::Xbar;

/// The reference read's effective conductances `[col][k][line]` and their cell indices, drawn
/// afresh for one call: stuck cells, drift and frozen d2d applied.
pub(super) fn reference(
    layer: &LayerCells,
    dir: Direction,
    geo: &Geometry,
    cfg: &Xbar,
    knobs: &Knobs,
) -> (Vec<f32>, Vec<u32>) {
    let dev = &cfg.device;
    let s = layer.slices;
    let (inst, lay) = (layer.instance, layer.layer);
    let deviates = drift::Deviates::new(&dev.drift, knobs, inst, lay);
    let stuck = Stuck::new(&cfg.device, knobs, inst, lay, layer.g_min);
    let d2d = D2d::new(knobs, inst, lay);
    let len = geo.ncol * s * geo.lines;
    let (mut eff, mut index) = (Vec::with_capacity(len), Vec::with_capacity(len));
    for c in 0..geo.ncol {
        for k in 0..s {
            for l in 0..geo.lines {
                let idx = cell_id(layer, dir, c, k, l);
                let mut g = stuck
                    .and_then(|m| m.value(idx))
                    .unwrap_or_else(|| layer.stored(idx));
                let z = deviates.map_or(0.0, |m| m.z(idx));
                g *= drift::factor(g, layer.g_min, z, &dev.drift);
                if let Some(m) = &d2d {
                    g *= m.factor(idx);
                }
                eff.push(g);
                index.push(idx as u32);
            }
        }
    }
    (eff, index)
}

/// Per-cell frozen draws over the whole cell-index space (data and reference cells).
#[derive(Debug, Clone, PartialEq)]
pub struct Frozen {
    /// max(0, 1 + d2d z), or 1 without d2d.
    factor: Vec<f32>,
    /// 0: healthy, 1: stuck at G_min, 2: stuck at G_max.
    stuck: Vec<u8>,
    /// The drift exponent's normal z_i (`drift`), drawn when the device has `nu_d2d` != 0;
    /// empty otherwise.
    drift_z: Vec<f32>,
}

impl Frozen {
    /// The draws of `layer`'s cells, `None` when the device has no d2d, no stuck cells and no
    /// drift-exponent spread.
    pub fn draw(layer: &LayerCells, cfg: &Xbar, knobs: &Knobs) -> Option<Frozen> {
        let dev = &cfg.device;
        let (inst, lay) = (layer.instance, layer.layer);
        let stuck_model = Stuck::new(dev, knobs, inst, lay, layer.g_min);
        let d2d = D2d::new(knobs, inst, lay);
        let spread = dev.drift.nu_d2d != 0.0;
        if d2d.is_none() && stuck_model.is_none() && !spread {
            return None;
        }
        let n = layer.total_cells();
        let mut factor = vec![1f32; n];
        let mut stuck = vec![0u8; n];
        factor
            .par_iter_mut()
            .zip(stuck.par_iter_mut())
            .enumerate()
            .for_each(|(idx, (f, st))| {
                if let Some(m) = &stuck_model {
                    *st = m.state(idx);
                }
                if let Some(m) = &d2d {
                    *f = m.factor(idx);
                }
            });
        let drift_z = if spread {
            let z = drift::Deviates::always(knobs, inst, lay);
            (0..n).into_par_iter().map(|idx| z.z(idx)).collect()
        } else {
            Vec::new()
        };
        Some(Frozen {
            factor,
            stuck,
            drift_z,
        })
    }
}

/// Effective conductances `[col][slice][line]` of a read of `layer` in `dir`; `frozen` must be
/// `Frozen::draw` of this layer under the same device (or `None` for a device without frozen
/// draws).
pub fn pack(layer: &LayerCells, dir: Direction, cfg: &Xbar, frozen: Option<&Frozen>) -> Vec<f32> {
    let d = &cfg.device.drift;
    if frozen.is_none() && (!drift::active(d) || drift::uniform(d)) {
        // Every cell's drift factor is the same constant (1 without drift).
        return pack_plain(layer, dir, cfg, drift::factor(1.0, layer.g_min, 0.0, d));
    }
    pack_cells(layer, dir, cfg, frozen)
}

/// [`pack`] without frozen draws and with one drift factor `f` for every cell: the stored
/// conductances times `f` (the reference's operation), gathered a column at a time without
/// per-cell index arithmetic.
fn pack_plain(layer: &LayerCells, dir: Direction, cfg: &Xbar, f: f32) -> Vec<f32> {
    let geo = geometry(layer, dir, cfg);
    let (s, lines) = (layer.slices, geo.lines);
    let (n, k_in, sets) = (layer.fan_out, layer.fan_in, layer.sets());
    let mut eff = vec![0f32; geo.ncol * s * lines];
    let cells = &layer.cells;
    eff.par_chunks_mut((lines * s).max(1))
        .enumerate()
        .for_each(|(c, col)| {
            for (k, e) in col.chunks_mut(lines.max(1)).enumerate() {
                // `cell_id(layer, dir, c, k, l)` is `first + l * stride` in `src`.
                let (src, first, stride) = match dir {
                    Direction::Forward if c < sets * n => (cells, c * k_in * s + k, s),
                    Direction::Transposed if c < sets * k_in => {
                        (cells, ((c / k_in) * n * k_in + c % k_in) * s + k, k_in * s)
                    }
                    Direction::Forward => (&layer.ref_fwd, k * 2 + c - sets * n, s * 2),
                    Direction::Transposed => (&layer.ref_bwd, k * 2 + c - sets * k_in, s * 2),
                };
                if stride == 1 {
                    for (e, &g) in e.iter_mut().zip(&src[first..first + lines]) {
                        *e = g * f;
                    }
                } else {
                    for (l, e) in e.iter_mut().enumerate() {
                        *e = src[first + l * stride] * f;
                    }
                }
            }
        });
    eff
}

/// [`pack`] cell by cell: stuck cells, per-cell drift and d2d as the reference applies them.
fn pack_cells(layer: &LayerCells, dir: Direction, cfg: &Xbar, frozen: Option<&Frozen>) -> Vec<f32> {
    let geo = geometry(layer, dir, cfg);
    let (s, lines) = (layer.slices, geo.lines);
    let d = &cfg.device.drift;
    // The reference draws z for every cell of a per-cell drift; it matters only with a spread.
    let spread = drift::active(d) && !drift::uniform(d) && d.nu_d2d != 0.0;
    let mut eff = vec![0f32; geo.ncol * s * lines];
    eff.par_chunks_mut(lines.max(1))
        .enumerate()
        .for_each(|(j, col)| {
            let (c, k) = (j / s, j % s);
            for (l, e) in col.iter_mut().enumerate() {
                let idx = cell_id(layer, dir, c, k, l);
                // Same operations in the same order as `reference`.
                let mut g = layer.stored(idx);
                if let Some(f) = frozen {
                    match f.stuck[idx] {
                        1 => g = layer.g_min,
                        2 => g = 1.0,
                        _ => {}
                    }
                }
                // Without a spread the reference's z is multiplied by nu_d2d = 0: use 0.
                let z = match frozen {
                    Some(f) if spread => f.drift_z[idx],
                    _ => 0.0,
                };
                g *= drift::factor(g, layer.g_min, z, d);
                if let Some(f) = frozen {
                    // The factor is exactly 1 without d2d, where the reference skips it.
                    g *= f.factor[idx];
                }
                *e = g;
            }
        });
    eff
}

/// Effective conductances of one instance of a layer, kept between programming events.
#[derive(Debug, Clone, Default)]
pub struct EffCache {
    /// Drawn once (`None` inside: the device has no frozen draws).
    frozen: Option<Option<Frozen>>,
    forward: Option<Vec<f32>>,
    transposed: Option<Vec<f32>>,
}

impl EffCache {
    /// The packed conductances of `dir`, built on first use after creation or programming.
    pub fn get(&mut self, layer: &LayerCells, dir: Direction, cfg: &Xbar, knobs: &Knobs) -> &[f32] {
        let frozen = self
            .frozen
            .get_or_insert_with(|| Frozen::draw(layer, cfg, knobs));
        let slot = match dir {
            Direction::Forward => &mut self.forward,
            Direction::Transposed => &mut self.transposed,
        };
        slot.get_or_insert_with(|| pack(layer, dir, cfg, frozen.as_ref()))
    }

    /// The stored conductances changed: the packed matrices are stale (frozen draws are not).
    pub fn invalidate(&mut self) {
        self.forward = None;
        self.transposed = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mapping;
    use crate::xbar::mapping::{map_for_training, map_weights};

    /// The column-gather pack equals the cell-by-cell one bit for bit: both mappings, both
    /// directions, one and two slices, with and without a uniform drift.
    #[test]
    fn plain_pack_equals_cell_by_cell() {
        let (n, k) = (11, 19);
        let w: Vec<f32> = (0..n * k)
            .map(|i| (i * 29 % 97) as f32 / 48.0 - 1.0)
            .collect();
        for mapping in [Mapping::Offset, Mapping::Differential] {
            for (wb, cb) in [(4, 4), (6, 3)] {
                for drift in [false, true] {
                    let mut cfg = Xbar::default();
                    cfg.array.mapping = mapping;
                    (cfg.array.weight_bits, cfg.array.cell_bits) = (wb, cb);
                    if drift {
                        cfg.device.drift.t = 1000.0;
                        cfg.device.drift.nu = 0.05;
                    }
                    let knobs = Knobs::from_device(&cfg.device, 0.1, 5);
                    let mut layers = vec![map_weights(&w, n, k, None, &cfg, 0, 1)];
                    if wb == cb {
                        layers.push(map_for_training(&w, n, k, 1.0, &cfg, &knobs, 0, 1).unwrap());
                    }
                    for layer in &layers {
                        assert!(Frozen::draw(layer, &cfg, &knobs).is_none());
                        for dir in [Direction::Forward, Direction::Transposed] {
                            let f = drift::factor(1.0, layer.g_min, 0.0, &cfg.device.drift);
                            let a = pack_plain(layer, dir, &cfg, f);
                            let b = pack_cells(layer, dir, &cfg, None);
                            let bits =
                                |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                            assert_eq!(
                                bits(&a),
                                bits(&b),
                                "{mapping:?} {wb}/{cb} bits drift {drift} {dir:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
