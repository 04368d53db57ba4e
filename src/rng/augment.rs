//! The random crop and flip of training-time augmentation: each sample's draw comes from Philox
//! keyed by (seed, epoch) at counter (sample index in the epoch), so runs are reproducible and
//! the GPU kernel (`shaders/augment.wgsl`) draws exactly what this does.

use super::{key, philox4x32_10, Purpose};

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
