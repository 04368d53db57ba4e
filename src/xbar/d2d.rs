//! Device-to-device conductance spread: every cell reads its conductance times a frozen factor
//!
//!   G_eff = G f_i,   f_i = max(0, 1 + d2d z_i),   z_i ~ N(0, 1)
//!
//! (draw `D2d` `[cell, 0, 0, 0]`, words 0 and 1, see `draws`), applied after the stuck value
//! and drift (`effective::reference`). One implementation for the reference read and the GPU's
//! frozen cell words (`gpu::xbar`).

use crate::rng::Purpose;

use super::draws::{normal_at, stream_key};
use super::knobs::Knobs;

/// The d2d model of one instance of a layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct D2d {
    key: [u32; 2],
    sigma: f32,
}

impl D2d {
    /// The model of one (instance, layer) with the instance's spread, `None` without d2d
    /// (every f_i = 1).
    pub fn new(knobs: &Knobs, instance: u32, layer: u32) -> Option<D2d> {
        (knobs.d2d > 0.0).then(|| D2d {
            key: stream_key(knobs.seed, Purpose::D2d, instance, layer),
            sigma: knobs.d2d,
        })
    }

    /// The factor f_i of cell `idx`.
    #[inline]
    pub fn factor(&self, idx: usize) -> f32 {
        (1.0 + self.sigma * normal_at(self.key, [idx as u32, 0, 0, 0])).max(0.0)
    }
}
