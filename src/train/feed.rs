//! Data resident on the backend and the per-batch plumbing every trainer shares: the epoch's
//! sample order, gathering (and augmenting) a batch, and the loss/accuracy accumulators.

use super::augment::Augmenter;
use crate::backend::*;
use crate::data::{Dataset, Split};

/// A data split resident on the backend.
#[derive(Debug, Clone, Copy)]
pub struct Resident {
    pub images: Buf,
    pub labels: Buf,
    pub n: usize,
    features: usize,
}

impl Resident {
    fn upload(be: &mut dyn Backend, d: &Dataset) -> Resident {
        let images = be.alloc(d.images.len());
        be.write(images, &d.images);
        let labels = be.alloc_u32(d.labels.len());
        be.write_u32(labels, &d.labels);
        Resident {
            images,
            labels,
            n: d.len(),
            features: d.features(),
        }
    }

    /// Copies rows `[start, start + rows)` of `order` into the batch buffers `xy`.
    fn gather(&self, be: &mut dyn Backend, order: Buf, xy: (Buf, Buf), at: (usize, usize)) {
        let (start, rows) = at;
        let p = GatherParams {
            rows: rows as u32,
            features: self.features as u32,
            start: start as u32,
            count: (rows * self.features) as u32,
        };
        be.gather(self.images, order, self.labels, xy.0, xy.1, &p);
    }
}

/// A split on the backend and how batches are drawn from it: the epoch's order of the
/// training set, the identity order of the test set, and the augmentation of training batches.
pub struct Feeder {
    pub train: Resident,
    pub test: Resident,
    perm: Buf,
    order: Buf,
    pub augment: Option<Augmenter>,
}

impl Feeder {
    /// Uploads `split` (checked against the backend's limits first).
    pub fn new(be: &mut dyn Backend, split: &Split) -> anyhow::Result<Feeder> {
        check_buffer(&*be, "the training images", split.train.images.len())?;
        check_buffer(&*be, "the test images", split.test.images.len())?;
        let train = Resident::upload(be, &split.train);
        let test = Resident::upload(be, &split.test);
        let perm = be.alloc_u32(train.n);
        let n = train.n.max(test.n);
        let order = be.alloc_u32(n);
        be.write_u32(order, &(0..n as u32).collect::<Vec<_>>());
        Ok(Feeder {
            train,
            test,
            perm,
            order,
            augment: None,
        })
    }

    /// Sets the training set's order for `epoch` (a seeded shuffle).
    pub fn shuffle(&self, be: &mut dyn Backend, seed: u64, epoch: u32) {
        let order = crate::data::epoch_order(self.train.n, seed, epoch);
        be.write_u32(self.perm, &order);
    }

    /// Training rows `[start, start + rows)` of the epoch's order into `x` and `y`, augmented
    /// (through the staging buffer) when asked.
    pub fn train_batch(
        &self,
        be: &mut dyn Backend,
        x: Buf,
        y: Buf,
        epoch: u32,
        start: usize,
        rows: usize,
    ) {
        let staged = self.augment.as_ref().map_or(x, |a| a.staging);
        self.train.gather(be, self.perm, (staged, y), (start, rows));
        if let Some(a) = &self.augment {
            a.apply(be, x, epoch, start, rows);
        }
    }

    /// Rows `[start, start + rows)` of the test set (or of the training set in its stored
    /// order, with `train`), unaugmented.
    pub fn plain_batch(
        &self,
        be: &mut dyn Backend,
        train: bool,
        xy: (Buf, Buf),
        start: usize,
        rows: usize,
    ) {
        let set = if train { &self.train } else { &self.test };
        set.gather(be, self.order, xy, (start, rows));
    }
}

/// Zeroes the [P][4] accumulators.
pub fn reset_acc(be: &mut dyn Backend, acc: Buf, instances: usize) {
    be.fill(acc, &FillParams::zeros(4 * instances as u32));
}

/// (mean loss, accuracy) per instance from the accumulators.
pub fn read_acc(be: &mut dyn Backend, acc: Buf) -> Vec<(f64, f64)> {
    be.read(acc)
        .chunks(4)
        .map(|c| {
            let n = c[2].max(1.0) as f64;
            (c[0] as f64 / n, c[1] as f64 / n)
        })
        .collect()
}
