//! Training-time augmentation of CIFAR-style images: random crop with zero padding and random
//! horizontal flip. Each sample's draw comes from Philox keyed by (seed, epoch) at counter
//! (sample index in the epoch), so runs are reproducible and the GPU kernel
//! (`shaders/augment.wgsl`) draws exactly what this function does.

use crate::backend::AugmentParams;
pub use crate::config::data::Augment;
pub use crate::rng::augment::{draw, epoch_key, Draw};

/// Kernel parameters for rows [first, first + rows) of an epoch's batches of `[c, h, w]`
/// images.
pub fn params(
    mode: Augment,
    pad: u32,
    shape: [usize; 3],
    seed: u64,
    epoch: u32,
    first: usize,
    rows: usize,
) -> AugmentParams {
    let [c, h, w] = shape;
    let k = epoch_key(seed, epoch);
    AugmentParams {
        rows: rows as u32,
        c: c as u32,
        h: h as u32,
        w: w as u32,
        count: (rows * c * h * w) as u32,
        pad: if mode.crops() { pad } else { 0 },
        flip: mode.flips() as u32,
        first: first as u32,
        key0: k[0],
        key1: k[1],
        _pad: [0; 2],
    }
}
