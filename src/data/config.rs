//! The `[data]` section of the experiment file.

use serde::{Deserialize, Serialize};

use super::augment::Augment;
use super::idx::IdxNames;
use crate::config::{check, ConfigError};

/// Where images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// 5,000 MNIST digits compiled into the binary.
    #[default]
    Mnist5k,
    /// IDX files (MNIST, Fashion-MNIST, EMNIST) in `data.path`.
    Idx,
    /// The CIFAR-10 binary batches in `data.path`.
    Cifar10,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Mnist5k => "mnist5k",
            Source::Idx => "idx",
            Source::Cifar10 => "cifar10",
        }
    }
}

/// How byte pixels become inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    /// x / 255, in [0, 1].
    #[default]
    Unit,
    /// Per channel, (x - mean) / std with statistics of the training split.
    Standard,
    /// x / 255 * 2 - 1, in [-1, 1].
    Centered,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    pub source: Source,
    /// Directory holding the files, for `idx` and `cifar10`.
    pub path: Option<String>,
    /// File-name overrides inside `path` for `idx`; unset tries the standard MNIST names,
    /// gzipped or not.
    pub train_images: Option<String>,
    pub train_labels: Option<String>,
    pub test_images: Option<String>,
    pub test_labels: Option<String>,
    /// Number of classes; 0 takes it from the data (10 for mnist5k and cifar10, one above the
    /// largest training label for idx). Labels at or above it are an error.
    pub classes: usize,
    /// First this many training images; 0 = all.
    pub train_limit: usize,
    /// First this many test images; 0 = all.
    pub test_limit: usize,
    pub normalize: Normalize,
    /// Training-batch augmentation (never applied to evaluation).
    pub augment: Augment,
    /// Largest crop offset in pixels on each axis (zero padding of this width).
    pub crop_pad: u32,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            source: Source::default(),
            path: None,
            train_images: None,
            train_labels: None,
            test_images: None,
            test_labels: None,
            classes: 0,
            train_limit: 0,
            test_limit: 0,
            normalize: Normalize::default(),
            augment: Augment::None,
            crop_pad: 4,
        }
    }
}

impl DataConfig {
    pub fn idx_names(&self) -> IdxNames {
        IdxNames {
            train_images: self.train_images.clone(),
            train_labels: self.train_labels.clone(),
            test_images: self.test_images.clone(),
            test_labels: self.test_labels.clone(),
        }
    }

    /// Checks `augment` and `crop_pad` against an image shape `[C, H, W]` (the crop must
    /// leave part of the image).
    pub fn validate_augment(&self, shape: Option<[usize; 3]>) -> Result<(), ConfigError> {
        if !self.augment.crops() {
            return Ok(());
        }
        check(
            "data.crop_pad",
            self.crop_pad,
            (1..=64).contains(&self.crop_pad),
            "1..=64 pixels with data.augment = \"crop\" or \"crop_flip\"",
        )?;
        if let Some([_, h, w]) = shape {
            check(
                "data.crop_pad",
                self.crop_pad,
                (self.crop_pad as usize) < h.min(w),
                &format!("below the image's height and width ({h} x {w})"),
            )?;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let src = self.source.name();
        match (&self.path, self.source) {
            (None, Source::Idx | Source::Cifar10) => check(
                "data.path",
                "(unset)",
                false,
                &format!("a directory holding the files; required when data.source = \"{src}\""),
            )?,
            (Some(p), Source::Idx | Source::Cifar10) => check(
                "data.path",
                format!("\"{p}\""),
                !p.trim().is_empty(),
                "a non-empty directory path",
            )?,
            (Some(p), Source::Mnist5k) => check(
                "data.path",
                format!("\"{p}\""),
                false,
                "unset when data.source = \"mnist5k\" (the embedded set); \
                 set data.source = \"idx\" or \"cifar10\" to load files",
            )?,
            (None, Source::Mnist5k) => {}
        }
        for (field, name) in [
            ("data.train_images", &self.train_images),
            ("data.train_labels", &self.train_labels),
            ("data.test_images", &self.test_images),
            ("data.test_labels", &self.test_labels),
        ] {
            if let Some(n) = name {
                check(
                    field,
                    format!("\"{n}\""),
                    self.source == Source::Idx,
                    &format!("only with data.source = \"idx\" (it is \"{src}\")"),
                )?;
                check(
                    field,
                    format!("\"{n}\""),
                    !n.trim().is_empty(),
                    "a non-empty file name",
                )?;
            }
        }
        match self.source {
            Source::Idx => check(
                "data.classes",
                self.classes,
                self.classes == 0 || (2..=256).contains(&self.classes),
                "0 (one above the largest training label) or 2..=256",
            ),
            _ => check(
                "data.classes",
                self.classes,
                self.classes == 0 || self.classes == 10,
                &format!("0 or 10 for data.source = \"{src}\""),
            ),
        }
    }
}
