//! The `[data]` section of the experiment file.

use serde::{Deserialize, Serialize};

use super::error::{check, ConfigError};

/// Which augmentations `[data] augment` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// CIFAR-100 binaries (`train.bin`, `test.bin`) in `data.path`.
    Cifar100,
    /// NumPy arrays: `.npy` files in the directory `data.path`, or the `.npz` archive it names.
    Npy,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Mnist5k => "mnist5k",
            Source::Idx => "idx",
            Source::Cifar10 => "cifar10",
            Source::Cifar100 => "cifar100",
            Source::Npy => "npy",
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

/// Which CIFAR-100 label byte is the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cifar100Labels {
    /// The 100 fine classes.
    #[default]
    Fine,
    /// The 20 superclasses.
    Coarse,
}

impl Cifar100Labels {
    /// Classes of the label set.
    pub fn classes(self) -> usize {
        match self {
            Cifar100Labels::Fine => 100,
            Cifar100Labels::Coarse => 20,
        }
    }
}

/// Axis order of 4-D NumPy image arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageLayout {
    /// Channels-first when dimension 1 is at most 4 and dimension 3 is not, channels-last in
    /// the opposite case; otherwise an error asking for one of the two.
    #[default]
    Auto,
    /// `[N, C, H, W]`.
    Nchw,
    /// `[N, H, W, C]`.
    Nhwc,
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
    /// Validation split: hold out the last this many training images (after `train_limit`),
    /// train on the rest and evaluate on them in place of the test set, which is then never
    /// read. For tuning hyper-parameters without looking at the test set; 0 = off.
    pub val_split: usize,
    pub normalize: Normalize,
    /// Training-batch augmentation (never applied to evaluation).
    pub augment: Augment,
    /// Largest crop offset in pixels on each axis (zero padding of this width).
    pub crop_pad: u32,
    /// `cifar100`: the fine (100) or coarse (20) labels.
    pub cifar100_labels: Cifar100Labels,
    /// `npy`: axis order of 4-D image arrays.
    pub layout: ImageLayout,
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
            val_split: 0,
            normalize: Normalize::default(),
            augment: Augment::None,
            crop_pad: 4,
            cifar100_labels: Cifar100Labels::Fine,
            layout: ImageLayout::Auto,
        }
    }
}

impl DataConfig {
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
            (None, Source::Idx | Source::Cifar10 | Source::Cifar100 | Source::Npy) => check(
                "data.path",
                "(unset)",
                false,
                &format!("a directory holding the files; required when data.source = \"{src}\""),
            )?,
            (Some(p), Source::Idx | Source::Cifar10 | Source::Cifar100 | Source::Npy) => check(
                "data.path",
                format!("\"{p}\""),
                !p.trim().is_empty(),
                "a non-empty directory path (or a .npz file for data.source = \"npy\")",
            )?,
            (Some(p), Source::Mnist5k) => check(
                "data.path",
                format!("\"{p}\""),
                false,
                "unset when data.source = \"mnist5k\" (the embedded set); \
                 set data.source = \"idx\", \"cifar10\", \"cifar100\" or \"npy\" to load files",
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
                    matches!(self.source, Source::Idx | Source::Npy),
                    &format!("only with data.source = \"idx\" or \"npy\" (it is \"{src}\")"),
                )?;
                check(
                    field,
                    format!("\"{n}\""),
                    !n.trim().is_empty(),
                    "a non-empty file name",
                )?;
            }
        }
        check(
            "data.val_split",
            self.val_split,
            self.val_split == 0 || self.train_limit == 0 || self.val_split < self.train_limit,
            &format!(
                "0 (off) or fewer than data.train_limit ({}) images, leaving some to train on",
                self.train_limit
            ),
        )?;
        check(
            "data.cifar100_labels",
            "\"coarse\"",
            self.cifar100_labels == Cifar100Labels::Fine || self.source == Source::Cifar100,
            &format!("\"fine\" (unset) unless data.source = \"cifar100\" (it is \"{src}\")"),
        )?;
        check(
            "data.layout",
            format!("{:?}", self.layout).to_lowercase(),
            self.layout == ImageLayout::Auto || self.source == Source::Npy,
            &format!("\"auto\" (unset) unless data.source = \"npy\" (it is \"{src}\")"),
        )?;
        match self.source {
            Source::Idx => check(
                "data.classes",
                self.classes,
                self.classes == 0 || (2..=256).contains(&self.classes),
                "0 (one above the largest training label) or 2..=256",
            ),
            Source::Npy => check(
                "data.classes",
                self.classes,
                self.classes == 0 || (2..=65536).contains(&self.classes),
                "0 (one above the largest training label) or 2..=65536",
            ),
            Source::Cifar100 => {
                let n = self.cifar100_labels.classes();
                check(
                    "data.classes",
                    self.classes,
                    self.classes == 0 || self.classes == n,
                    &format!("0 or {n} for data.source = \"cifar100\" with these labels"),
                )
            }
            _ => check(
                "data.classes",
                self.classes,
                self.classes == 0 || self.classes == 10,
                &format!("0 or 10 for data.source = \"{src}\""),
            ),
        }
    }
}
