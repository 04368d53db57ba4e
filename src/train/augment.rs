//! Augmenting training batches on the backend: the batch is gathered into a staging buffer
//! and cropped/flipped from there into the network's input (`data::augment`).

use crate::backend::{Backend, Buf};
use crate::config::ConfigError;
use crate::data::augment::{self, Augment};
use crate::data::DataConfig;

pub struct Augmenter {
    /// Gathered batch `[B][C H W]` before augmentation.
    pub staging: Buf,
    mode: Augment,
    pad: u32,
    shape: [usize; 3],
    seed: u64,
}

impl Augmenter {
    /// `None` when `cfg.augment` is "none"; an error when the crop does not fit `shape`.
    pub fn new(
        be: &mut dyn Backend,
        cfg: &DataConfig,
        shape: [usize; 3],
        batch: usize,
        seed: u64,
    ) -> Result<Option<Augmenter>, ConfigError> {
        cfg.validate_augment(Some(shape))?;
        if cfg.augment == Augment::None {
            return Ok(None);
        }
        Ok(Some(Augmenter {
            staging: be.alloc(batch * shape.iter().product::<usize>()),
            mode: cfg.augment,
            pad: cfg.crop_pad,
            shape,
            seed,
        }))
    }

    /// Writes rows [first, first + rows) of `epoch`, staged, augmented into `x`.
    pub fn apply(&self, be: &mut dyn Backend, x: Buf, epoch: u32, first: usize, rows: usize) {
        let p = augment::params(
            self.mode, self.pad, self.shape, self.seed, epoch, first, rows,
        );
        be.augment(self.staging, x, &p);
    }
}
