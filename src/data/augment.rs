//! Training-time augmentation of CIFAR-style images: random crop with zero padding and random
//! horizontal flip. Each sample's draw comes from Philox keyed by (seed, epoch) at counter
//! (sample index in the epoch), so runs are reproducible and the GPU kernel
//! (`shaders/augment.wgsl`) draws exactly what this function does.

use crate::backend::AugmentParams;
use crate::rng::{key, philox4x32_10, Purpose};

/// Which augmentations `[data] augment` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Augment {
    #[default]
    None,
    /// Random crop (offsets in [-crop_pad, crop_pad] on each axis) only.
    Crop,
    /// Random horizontal flip (p = 0.5) only.
    Flip,
    /// Both: the standard CIFAR-10 recipe.
    CropFlip,
}

impl Augment {
    pub fn crops(self) -> bool {
        matches!(self, Augment::Crop | Augment::CropFlip)
    }

    pub fn flips(self) -> bool {
        matches!(self, Augment::Flip | Augment::CropFlip)
    }
}

/// One sample's transform: output pixel (y, x) reads input (y + dy, x' + dx), x' = W - 1 - x
/// when flipped, and 0 outside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    pub dy: i32,
    pub dx: i32,
    pub flip: bool,
}

/// High word of a 32 x 32-bit product: maps a uniform word onto 0..n without floating point.
fn scale(word: u32, n: u32) -> u32 {
    ((word as u64 * n as u64) >> 32) as u32
}

/// The draw of sample `index` under the stream key `k` (`pad` 0 never shifts; `flip` false
/// never flips). Words 0, 1 and 2 of the block give dy, dx and the flip.
pub fn draw(k: [u32; 2], index: u32, pad: u32, flip: bool) -> Draw {
    let w = philox4x32_10([index, 0, 0, 0], k);
    let span = 2 * pad + 1;
    Draw {
        dy: scale(w[0], span) as i32 - pad as i32,
        dx: scale(w[1], span) as i32 - pad as i32,
        flip: flip && (w[2] >> 31) == 1,
    }
}

/// The stream key of an epoch's draws.
pub fn epoch_key(seed: u64, epoch: u32) -> [u32; 2] {
    key(seed, Purpose::Augment, epoch)
}

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
