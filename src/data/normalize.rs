//! Byte pixels to f32: each channel maps affinely, x = (p - sub[c]) / div[c]. Dividing (rather
//! than multiplying by a reciprocal) keeps 0 and 255 landing exactly on the ends of the range.

use super::config::Normalize;
use super::dataset::{Dataset, RawDataset};

/// Per-channel mean and standard deviation of `set`'s pixels in [0, 1] units (f64 sums, so
/// 150 M CIFAR bytes lose nothing).
pub fn channel_stats(set: &RawDataset) -> Vec<(f64, f64)> {
    let [c, h, w] = set.shape;
    let plane = h * w;
    let mut sums = vec![(0u64, 0u64); c];
    for img in set.pixels.chunks_exact(c * plane) {
        for (ch, px) in img.chunks_exact(plane).enumerate() {
            let (s, s2) = &mut sums[ch];
            for &p in px {
                *s += p as u64;
                *s2 += p as u64 * p as u64;
            }
        }
    }
    let count = (set.len() * plane).max(1) as f64;
    sums.into_iter()
        .map(|(s, s2)| {
            let mean = s as f64 / count;
            let var = (s2 as f64 / count - mean * mean).max(0.0);
            (mean / 255.0, var.sqrt() / 255.0)
        })
        .collect()
}

fn convert(set: &RawDataset, affine: &[(f32, f32)]) -> Dataset {
    let plane = set.shape[1] * set.shape[2];
    let images = set
        .pixels
        .chunks_exact(plane)
        .enumerate()
        .flat_map(|(k, px)| {
            let (sub, div) = affine[k % set.shape[0]];
            px.iter().map(move |&p| (p as f32 - sub) / div)
        })
        .collect();
    Dataset {
        images,
        labels: set.labels.clone(),
        shape: set.shape,
        classes: set.classes,
    }
}

/// Normalises both sets the same way; `standard` takes its statistics from `train` only, so the
/// test set stays unseen.
pub fn apply(train: &RawDataset, test: &RawDataset, mode: Normalize) -> (Dataset, Dataset) {
    let c = train.shape[0];
    let affine: Vec<(f32, f32)> = match mode {
        Normalize::Unit => vec![(0.0, 255.0); c],
        Normalize::Centered => vec![(127.5, 127.5); c],
        Normalize::Standard => channel_stats(train)
            .into_iter()
            .map(|(mean, std)| {
                // A constant channel (std 0) is only centred.
                let std = if std > 0.0 { std } else { 1.0 };
                ((255.0 * mean) as f32, (255.0 * std) as f32)
            })
            .collect(),
    };
    (convert(train, &affine), convert(test, &affine))
}

/// [`apply`] for float images whose 1.0 stands for byte 255: `unit` keeps them, `centered`
/// maps to 2x - 1, `standard` standardises each channel with the training set's statistics.
pub fn apply_float(train: &Dataset, test: &Dataset, mode: Normalize) -> (Dataset, Dataset) {
    let [c, h, w] = train.shape;
    let plane = h * w;
    let affine: Vec<(f32, f32)> = match mode {
        Normalize::Unit => vec![(0.0, 1.0); c],
        Normalize::Centered => vec![(0.5, 0.5); c],
        Normalize::Standard => {
            let mut sums = vec![(0f64, 0f64); c];
            for img in train.images.chunks_exact(c * plane) {
                for (ch, px) in img.chunks_exact(plane).enumerate() {
                    for &p in px {
                        sums[ch].0 += p as f64;
                        sums[ch].1 += p as f64 * p as f64;
                    }
                }
            }
            let count = (train.len() * plane).max(1) as f64;
            sums.into_iter()
                .map(|(s, s2)| {
                    let mean = s / count;
                    let std = (s2 / count - mean * mean).max(0.0).sqrt();
                    (mean as f32, if std > 0.0 { std as f32 } else { 1.0 })
                })
                .collect()
        }
    };
    let convert = |set: &Dataset| Dataset {
        images: set
            .images
            .chunks_exact(plane)
            .enumerate()
            .flat_map(|(k, px)| {
                let (sub, div) = affine[k % c];
                px.iter().map(move |&p| (p - sub) / div)
            })
            .collect(),
        ..set.clone()
    };
    (convert(train), convert(test))
}
