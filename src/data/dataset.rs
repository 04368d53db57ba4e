//! In-memory data sets: raw bytes as read from disk, and normalised f32 images for training.

use super::error::DataError;

/// Pixels as stored on disk (0..=255), before limits and normalisation are applied. Kept as bytes
/// so a full CIFAR-10 train set costs 150 MB rather than 600 MB until it is normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDataset {
    /// n x (c*h*w), CHW per image.
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
    /// c, h, w.
    pub shape: [usize; 3],
    pub classes: usize,
}

impl RawDataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }

    /// Errors on the first label not below `classes`; `file` and `hint` go into the message.
    pub fn check_labels(&self, file: &str, hint: &'static str) -> Result<(), DataError> {
        match self.labels.iter().position(|&l| l as usize >= self.classes) {
            None => Ok(()),
            Some(index) => Err(DataError::LabelRange {
                file: file.into(),
                index,
                label: self.labels[index],
                classes: self.classes,
                hint,
            }),
        }
    }

    /// Keeps the first `limit` images; 0 keeps all, as does a limit above the size.
    pub fn truncate(&mut self, limit: usize) {
        if limit > 0 && limit < self.len() {
            self.labels.truncate(limit);
            self.pixels.truncate(limit * self.features());
        }
    }

    /// Removes the last `n` images and returns them as a data set of the same shape.
    pub fn split_off_tail(&mut self, n: usize) -> RawDataset {
        let keep = self.len() - n.min(self.len());
        RawDataset {
            pixels: self.pixels.split_off(keep * self.features()),
            labels: self.labels.split_off(keep),
            shape: self.shape,
            classes: self.classes,
        }
    }
}

/// Normalised images with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// n x (c*h*w), row-major, CHW per image.
    pub images: Vec<f32>,
    pub labels: Vec<u32>,
    /// c, h, w.
    pub shape: [usize; 3],
    pub classes: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image: c*h*w.
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }

    /// Image `i`, CHW.
    pub fn image(&self, i: usize) -> &[f32] {
        let f = self.features();
        &self.images[i * f..(i + 1) * f]
    }

    /// Removes the last `n` images and returns them as a data set of the same shape.
    pub fn split_off_tail(&mut self, n: usize) -> Dataset {
        let keep = self.len() - n.min(self.len());
        Dataset {
            images: self.images.split_off(keep * self.features()),
            labels: self.labels.split_off(keep),
            shape: self.shape,
            classes: self.classes,
        }
    }
}

/// A training and a test set of the same shape and classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Dataset,
    pub test: Dataset,
    /// Where the data came from, for logs and reports.
    pub name: String,
}
