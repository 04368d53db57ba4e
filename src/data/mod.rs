//! Data sets: the embedded MNIST subset, IDX files (MNIST, Fashion-MNIST, EMNIST), CIFAR-10 and
//! CIFAR-100 binaries and NumPy arrays; limits, normalisation and the deterministic per-epoch
//! order of examples.

pub mod augment;
pub mod cifar;
pub mod cifar100;
pub mod dataset;
pub mod embedded;
pub mod error;
pub mod file;
pub mod idx;
pub mod normalize;
pub mod npy;
pub mod shuffle;

use std::path::Path;

pub use crate::config::data as config;
pub use config::{Cifar100Labels, DataConfig, ImageLayout, Normalize, Source};
pub use dataset::{Dataset, RawDataset, Split};
pub use embedded::mnist5k;
pub use error::DataError;
pub use shuffle::epoch_order;

/// Loads the configured train and test sets, keeps the first `train_limit` / `test_limit`
/// images of each, holds out the validation split when `val_split` is set (it then takes the
/// test set's place) and normalises both (with training-set statistics for `standard`).
pub fn load(cfg: &DataConfig) -> Result<Split, DataError> {
    cfg.validate()?;
    let dir = cfg.path.as_deref().map(Path::new);
    let name = match dir {
        Some(d) => format!("{} ({})", cfg.source.name(), d.display()),
        None => cfg.source.name().to_string(),
    };
    let (mut train, mut test) = match (cfg.source, dir) {
        (Source::Idx, Some(dir)) => idx::load_dir(dir, &cfg.idx_names(), cfg.classes)?,
        (Source::Cifar10, Some(dir)) => cifar::load_dir(dir)?,
        (Source::Cifar100, Some(dir)) => cifar100::load_dir(dir, cfg.cifar100_labels)?,
        (Source::Npy, Some(path)) => return load_npy(path, cfg, name),
        // validate() ensures mnist5k has no path and the others have one.
        _ => embedded::mnist5k_raw()?,
    };
    train.truncate(cfg.train_limit);
    test.truncate(cfg.test_limit);
    let name = match cfg.val_split {
        0 => name,
        n => {
            check_val_split(&name, train.len(), n)?;
            test = train.split_off_tail(n);
            val_name(&name, n)
        }
    };
    let (train, test) = normalize::apply(&train, &test, cfg.normalize);
    Ok(Split { train, test, name })
}

/// The validation split must leave at least one training image.
fn check_val_split(name: &str, train: usize, n: usize) -> Result<(), DataError> {
    if n < train {
        return Ok(());
    }
    Err(DataError::Shape {
        file: name.into(),
        message: format!(
            "data.val_split = {n} holds out every training image (there are {train}); \
             use fewer than {train}"
        ),
    })
}

/// Names a split whose evaluation set is the held-out end of the training set.
fn val_name(name: &str, n: usize) -> String {
    format!("{name}, validation = last {n} training images")
}

/// A NumPy data set: classes from `data.classes` or the training labels, limits, then the same
/// normalisation as byte images (float images count 1.0 as byte 255).
fn load_npy(path: &Path, cfg: &DataConfig, name: String) -> Result<Split, DataError> {
    let (mut train, mut test) = npy::load(path, cfg)?;
    let file = path.display().to_string();
    let labels = |s: &npy::Images| -> Vec<u32> {
        match s {
            npy::Images::Bytes(r) => r.labels.clone(),
            npy::Images::Floats(d) => d.labels.clone(),
        }
    };
    let classes = match cfg.classes {
        0 => labels(&train).iter().max().map_or(0, |m| *m as usize + 1),
        n => n,
    };
    if classes < 2 {
        return Err(DataError::Shape {
            file,
            message: format!("the training labels name {classes} class(es); at least 2 are needed"),
        });
    }
    for (set, what) in [(&train, "training"), (&test, "test")] {
        let l = labels(set);
        if let Some(index) = l.iter().position(|&v| v as usize >= classes) {
            return Err(DataError::LabelRange {
                file: format!("{file} ({what} labels)"),
                index,
                label: l[index],
                classes,
                hint: " (set data.classes or check the labels)",
            });
        }
    }
    for (set, limit) in [(&mut train, cfg.train_limit), (&mut test, cfg.test_limit)] {
        match set {
            npy::Images::Bytes(r) => {
                r.classes = classes;
                r.truncate(limit);
            }
            npy::Images::Floats(d) => {
                d.classes = classes;
                if limit > 0 && limit < d.len() {
                    d.labels.truncate(limit);
                    d.images.truncate(limit * d.features());
                }
            }
        }
    }
    let name = match cfg.val_split {
        0 => name,
        n => {
            check_val_split(&name, train.len(), n)?;
            test = match &mut train {
                npy::Images::Bytes(r) => npy::Images::Bytes(r.split_off_tail(n)),
                npy::Images::Floats(d) => npy::Images::Floats(d.split_off_tail(n)),
            };
            val_name(&name, n)
        }
    };
    let (train, test) = match (train, test) {
        (npy::Images::Bytes(a), npy::Images::Bytes(b)) => normalize::apply(&a, &b, cfg.normalize),
        (npy::Images::Floats(a), npy::Images::Floats(b)) => {
            if cfg.normalize == Normalize::Unit {
                for (set, what) in [(&a, "training"), (&b, "test")] {
                    if let Some(i) = set.images.iter().position(|v| !(0.0..=1.0).contains(v)) {
                        return Err(DataError::Shape {
                            file,
                            message: format!(
                                "{what} image value {} at index {i} is outside [0, 1], which \
                                 data.normalize = \"unit\" takes float images to be in; use \
                                 \"standard\" for other ranges",
                                set.images[i]
                            ),
                        });
                    }
                }
            }
            normalize::apply_float(&a, &b, cfg.normalize)
        }
        _ => unreachable!("npy::load returns both splits with one dtype"),
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
