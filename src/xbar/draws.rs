//! The crossbar's random draws, all from Philox4x32-10 (`crate::rng`).
//!
//! Key: `key(seed, purpose, instance * 64 + layer)` (at most 64 layers per instance).
//! Counters (ctr[0..4]) per purpose:
//! - `D2d` (frozen): [cell, 0, 0, 0]; z = normal(w0, w1); G_eff = G (1 + d2d z).
//! - `Stuck` (frozen): [cell, 0, 0, 0]; u = uniform(w0); u < stuck_off: G_min,
//!   else u < stuck_off + stuck_on: G_max.
//! - `NlD2d` (frozen): [cell, 0, 0, 0]; z_ltp = normal(w0, w1), z_ltd = normal(w2, w3).
//! - `Drift` (frozen): [cell, 0, 0, 0]; z = normal(w0, w1), the cell's drift-exponent deviate.
//! - `ReadNoise` (per read): [cell, read_counter, tag, sample]; z = normal(w0, w1).
//! - `OutputNoise` (per conversion): [conversion, read_counter, tag, sample]; z = normal(w0, w1).
//! - `C2c` (per write): [cell, step, 0, 0]; z = normal(w0, w1).
//! - `Rounding` (per write): [weight, step, 0, 0]; u = uniform(w0).
//!
//! `tag = t | sign << 16 | dir << 17` (t: input cycle, sign: 0 positive / 1 negative input pass,
//! dir: 0 forward / 1 transposed). Cell and conversion indices are defined in `mapping` and `read`.

use crate::rng::{key, normal, philox4x32_10, uniform, Purpose};

/// Sub-stream of (instance, layer).
pub fn stream(instance: u32, layer: u32) -> u32 {
    assert!(layer < 64, "layer index {layer} >= 64");
    instance.wrapping_mul(64).wrapping_add(layer)
}

/// Key of one purpose for one (instance, layer).
pub fn stream_key(seed: u64, purpose: Purpose, instance: u32, layer: u32) -> [u32; 2] {
    key(seed, purpose, stream(instance, layer))
}

/// Standard normal from words 0 and 1 of `ctr` under `k`.
#[inline]
pub fn normal_at(k: [u32; 2], ctr: [u32; 4]) -> f32 {
    let w = philox4x32_10(ctr, k);
    normal(w[0], w[1])
}

/// Two standard normals (words 0,1 and 2,3).
#[inline]
pub fn normal2_at(k: [u32; 2], ctr: [u32; 4]) -> (f32, f32) {
    let w = philox4x32_10(ctr, k);
    (normal(w[0], w[1]), normal(w[2], w[3]))
}

/// Uniform in (0, 1) from word 0.
#[inline]
pub fn uniform_at(k: [u32; 2], ctr: [u32; 4]) -> f32 {
    uniform(philox4x32_10(ctr, k)[0])
}

/// The `tag` word of per-read counters.
#[inline]
pub fn tag(t: u32, negative: bool, transposed: bool) -> u32 {
    t | (negative as u32) << 16 | (transposed as u32) << 17
}
