//! Data sets: the embedded MNIST subset, IDX files (MNIST, Fashion-MNIST, EMNIST) and CIFAR-10
//! binaries; limits, normalisation and the deterministic per-epoch order of examples.

pub mod augment;
pub mod cifar;
pub mod config;
pub mod dataset;
pub mod embedded;
pub mod error;
pub mod file;
pub mod idx;
pub mod normalize;
pub mod shuffle;
pub mod synth;

use std::path::Path;

pub use config::{DataConfig, Normalize, Source};
pub use dataset::{Dataset, RawDataset, Split};
pub use embedded::mnist5k;
pub use error::DataError;
pub use shuffle::epoch_order;

/// Loads the configured train and test sets, keeps the first `train_limit` / `test_limit`
/// images of each and normalises both (with training-set statistics for `standard`).
pub fn load(cfg: &DataConfig) -> Result<Split, DataError> {
    cfg.validate()?;
    let dir = cfg.path.as_deref().map(Path::new);
    let (mut train, mut test) = match (cfg.source, dir) {
        (Source::Idx, Some(dir)) => idx::load_dir(dir, &cfg.idx_names(), cfg.classes)?,
        (Source::Cifar10, Some(dir)) => cifar::load_dir(dir)?,
        // validate() ensures mnist5k has no path and the others have one.
        _ => embedded::mnist5k_raw()?,
    };
    train.truncate(cfg.train_limit);
    test.truncate(cfg.test_limit);
    let (train, test) = normalize::apply(&train, &test, cfg.normalize);
    let name = match dir {
        Some(d) => format!("{} ({})", cfg.source.name(), d.display()),
        None => cfg.source.name().to_string(),
    };
    let split = Split { train, test, name };
    check_split(&split)?;
    Ok(split)
}

/// Refuses data nothing can be learned or measured on: an empty training or test set, fewer
/// than two classes, or training labels all of one class.
pub fn check_split(split: &Split) -> Result<(), DataError> {
    let fail = |message: String| {
        Err(DataError::Shape {
            file: split.name.clone(),
            message,
        })
    };
    for (set, d) in [("training", &split.train), ("test", &split.test)] {
        if d.is_empty() {
            return fail(format!(
                "the {set} set holds no images (check the files and data.{}_limit)",
                if set == "training" { "train" } else { "test" }
            ));
        }
    }
    if split.train.classes < 2 {
        return fail(format!(
            "{} class; classification needs at least 2 (data.classes)",
            split.train.classes
        ));
    }
    let first = split.train.labels[0];
    if split.train.labels.iter().all(|&l| l == first) {
        return fail(format!(
            "every training label is {first}: a single-class training set teaches nothing"
        ));
    }
    Ok(())
}
