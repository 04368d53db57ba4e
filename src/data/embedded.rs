//! The default data set, compiled into the binary so that tests, examples and first runs need no
//! download: 5,000 real MNIST digits (see `data/mnist5k/NOTICE.md`).

use super::config::Normalize;
use super::dataset::{RawDataset, Split};
use super::error::DataError;
use super::file::gunzip_if_needed;
use super::idx::{pair, parse_images, parse_labels};
use super::normalize::apply;

const TRAIN_IMAGES: &[u8] = include_bytes!("../../data/mnist5k/train-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] = include_bytes!("../../data/mnist5k/train-labels-idx1-ubyte.gz");
const TEST_IMAGES: &[u8] = include_bytes!("../../data/mnist5k/t10k-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] = include_bytes!("../../data/mnist5k/t10k-labels-idx1-ubyte.gz");

pub const NAME: &str = "mnist5k";

fn decode(
    images: &[u8],
    images_name: &str,
    labels: &[u8],
    labels_name: &str,
) -> Result<RawDataset, DataError> {
    let (fi, fl) = (
        format!("embedded {NAME}/{images_name}"),
        format!("embedded {NAME}/{labels_name}"),
    );
    let im = parse_images(&gunzip_if_needed(images.to_vec(), &fi)?, &fi)?;
    let lb = parse_labels(&gunzip_if_needed(labels.to_vec(), &fl)?, &fl)?;
    let mut set = pair(im, &fi, lb, &fl)?;
    set.classes = 10;
    set.check_labels(&fl, " (MNIST has 10 classes)")?;
    Ok(set)
}

/// The embedded train (4,000) and test (1,000) sets as raw bytes.
pub fn mnist5k_raw() -> Result<(RawDataset, RawDataset), DataError> {
    Ok((
        decode(
            TRAIN_IMAGES,
            "train-images-idx3-ubyte.gz",
            TRAIN_LABELS,
            "train-labels-idx1-ubyte.gz",
        )?,
        decode(
            TEST_IMAGES,
            "t10k-images-idx3-ubyte.gz",
            TEST_LABELS,
            "t10k-labels-idx1-ubyte.gz",
        )?,
    ))
}

/// The embedded set with pixels scaled to [0, 1].
pub fn mnist5k() -> Result<Split, DataError> {
    let (train, test) = mnist5k_raw()?;
    let (train, test) = apply(&train, &test, Normalize::Unit);
    Ok(Split {
        train,
        test,
        name: NAME.into(),
    })
}
