//! Stuck cells: a fraction of the cells ignore programming and always read at one bound.
//!
//! Per cell i, u_i ~ U(0, 1) frozen (draw `Stuck` `[cell, 0, 0, 0]`, word 0, see `draws`):
//!
//!   u_i < p_off                 -> stuck off, G = G_min,
//!   p_off <= u_i < p_off + p_on -> stuck on,  G = G_max = 1,
//!   otherwise                   -> healthy, G = the programmed conductance,
//!
//! with p_off = `device.stuck_off`, p_on = `device.stuck_on`. The stuck value replaces the
//! programmed one before drift and d2d apply (`effective::reference`). One implementation for
//! the reference read, the fast path's frozen draws (`effective`) and the GPU's frozen cell
//! words (`gpu::xbar`).

use crate::config::DeviceConfig;
use crate::rng::Purpose;

use super::draws::{stream_key, uniform_at};
use super::knobs::Knobs;

/// The stuck-cell model of one instance of a layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stuck {
    key: [u32; 2],
    p_off: f32,
    /// p_off + p_on.
    p_any: f32,
    g_min: f32,
}

impl Stuck {
    /// The model of one (instance, layer) whose cells range over [g_min, 1], `None` when the
    /// device has no stuck cells.
    pub fn new(
        dev: &DeviceConfig,
        knobs: &Knobs,
        instance: u32,
        layer: u32,
        g_min: f32,
    ) -> Option<Stuck> {
        let (p_off, p_any) = (dev.stuck_off as f32, (dev.stuck_off + dev.stuck_on) as f32);
        (p_any > 0.0).then(|| Stuck {
            key: stream_key(knobs.seed, Purpose::Stuck, instance, layer),
            p_off,
            p_any,
            g_min,
        })
    }

    /// Cell `idx`'s state: 0 healthy, 1 stuck off (G_min), 2 stuck on (G_max).
    #[inline]
    pub fn state(&self, idx: usize) -> u8 {
        let u = uniform_at(self.key, [idx as u32, 0, 0, 0]);
        if u < self.p_off {
            1
        } else if u < self.p_any {
            2
        } else {
            0
        }
    }

    /// The conductance cell `idx` is stuck at, `None` for a healthy cell.
    #[inline]
    pub fn value(&self, idx: usize) -> Option<f32> {
        match self.state(idx) {
            1 => Some(self.g_min),
            2 => Some(1.0),
            _ => None,
        }
    }
}
