//! Data resident on the backend and the per-batch plumbing every trainer shares: gathering a
//! batch by a permutation, and the loss/accuracy accumulators.

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

/// A split resident on the backend, with an epoch-order buffer for the training set and the
/// identity order the test set is read in.
pub struct ResidentSplit {
    pub train: Resident,
    pub test: Resident,
    pub perm: Buf,
    pub order: Buf,
}

/// Refuses a split the backend cannot hold in one buffer per set.
pub fn check_resident(be: &dyn Backend, split: &crate::data::Split) -> anyhow::Result<()> {
    check_buffer(be, "the training images", split.train.images.len())?;
    check_buffer(be, "the test images", split.test.images.len())
}

pub fn upload_split(be: &mut dyn Backend, split: &crate::data::Split) -> ResidentSplit {
    let train = upload(be, &split.train);
    let test = upload(be, &split.test);
    let perm = be.alloc_u32(train.n);
    let order = be.alloc_u32(train.n.max(test.n));
    let ident: Vec<u32> = (0..train.n.max(test.n) as u32).collect();
    be.write_u32(order, &ident);
    ResidentSplit {
        train,
        test,
        perm,
        order,
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
