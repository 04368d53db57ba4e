//! Data resident on the backend and the per-batch plumbing every trainer shares: the epoch's
//! sample order, gathering (and augmenting) a batch, and the loss/accuracy accumulators.

use super::augment::Augmenter;
use crate::backend::*;
use crate::data::Dataset;

/// A data split resident on the backend.
#[derive(Debug, Clone, Copy)]
pub struct Resident {
    pub images: Buf,
    pub labels: Buf,
    pub n: usize,
}

pub fn upload(be: &mut dyn Backend, d: &Dataset) -> Resident {
    let images = be.alloc(d.images.len());
    be.write(images, &d.images);
    let labels = be.alloc_u32(d.labels.len());
    be.write_u32(labels, &d.labels);
    Resident {
        images,
        labels,
        n: d.len(),
    }
}

/// Refuses a split the backend cannot hold in one buffer per set.
fn check_resident(be: &dyn Backend, split: &crate::data::Split) -> anyhow::Result<()> {
    check_buffer(be, "the training images", split.train.images.len())?;
    check_buffer(be, "the test images", split.test.images.len())
}

/// A split on the backend and how batches are drawn from it: the epoch's order of the
/// training set, the identity order of the test set, and the augmentation of training batches.
pub struct Feeder {
    pub train: Resident,
    pub test: Resident,
    perm: Buf,
    order: Buf,
    features: usize,
    pub augment: Option<Augmenter>,
}

impl Feeder {
    /// Uploads `split` (checked against the backend's limits first).
    pub fn new(be: &mut dyn Backend, split: &crate::data::Split) -> anyhow::Result<Feeder> {
        check_resident(&*be, split)?;
        let train = upload(be, &split.train);
        let test = upload(be, &split.test);
        let perm = be.alloc_u32(train.n);
        let order = be.alloc_u32(train.n.max(test.n));
        let ident: Vec<u32> = (0..train.n.max(test.n) as u32).collect();
        be.write_u32(order, &ident);
        Ok(Feeder {
            train,
            test,
            perm,
            order,
            features: split.train.features(),
            augment: None,
        })
    }

    /// Sets the training set's order for `epoch` (a seeded shuffle).
    pub fn shuffle(&self, be: &mut dyn Backend, seed: u64, epoch: u32) {
        let order = crate::data::epoch_order(self.train.n, seed, epoch);
        be.write_u32(self.perm, &order);
    }

    /// Training rows `[start, start + rows)` of the epoch's order into `x` and `y`, augmented
    /// when asked.
    #[allow(clippy::too_many_arguments)]
    pub fn train_batch(
        &self,
        be: &mut dyn Backend,
        x: Buf,
        y: Buf,
        epoch: u32,
        start: usize,
        rows: usize,
    ) {
        match &self.augment {
            Some(a) => {
                gather(
                    be,
                    &self.train,
                    self.perm,
                    a.staging,
                    y,
                    self.features,
                    start,
                    rows,
                );
                a.apply(be, x, epoch, start, rows);
            }
            None => gather(be, &self.train, self.perm, x, y, self.features, start, rows),
        }
    }

    /// Rows `[start, start + rows)` of the test set (or of the training set in its stored
    /// order, with `train`), unaugmented.
    pub fn plain_batch(
        &self,
        be: &mut dyn Backend,
        train: bool,
        (x, y): (Buf, Buf),
        start: usize,
        rows: usize,
    ) {
        let set = if train { &self.train } else { &self.test };
        gather(be, set, self.order, x, y, self.features, start, rows);
    }
}

/// Copies rows [start, start + rows) of `perm`'s order of `set` into the batch buffers.
#[allow(clippy::too_many_arguments)]
pub fn gather(
    be: &mut dyn Backend,
    set: &Resident,
    perm: Buf,
    x: Buf,
    y: Buf,
    features: usize,
    start: usize,
    rows: usize,
) {
    be.gather(
        set.images,
        perm,
        set.labels,
        x,
        y,
        &GatherParams {
            rows: rows as u32,
            features: features as u32,
            start: start as u32,
            count: (rows * features) as u32,
        },
    );
}

/// Zeroes the [P][4] accumulators.
pub fn reset_acc(be: &mut dyn Backend, acc: Buf, instances: usize) {
    be.fill(
        acc,
        &FillParams {
            off: 0,
            count: 4 * instances as u32,
            value: 0.0,
            _pad: 0,
        },
    );
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
