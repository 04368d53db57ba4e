//! Writers for small IDX and CIFAR-10 files, so tests can build fixtures without real downloads.
//! A path ending in `.gz` is written gzip-compressed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use insitu::data::cifar::PIXELS;
use insitu::data::idx::{IMAGES_MAGIC, LABELS_MAGIC};

fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(path)?,
            flate2::Compression::default(),
        );
        gz.write_all(bytes)?;
        gz.finish()?;
        Ok(())
    } else {
        std::fs::write(path, bytes)
    }
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

/// An IDX image file of `n` images of `h` x `w`; `pixels` must hold n*h*w bytes.
pub fn write_idx_images(
    path: impl AsRef<Path>,
    n: usize,
    h: usize,
    w: usize,
    pixels: &[u8],
) -> std::io::Result<()> {
    if pixels.len() != n * h * w {
        return Err(invalid(format!(
            "{} pixels given for {n} x {h} x {w} images",
            pixels.len()
        )));
    }
    let mut bytes = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, n as u32, h as u32, w as u32] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    write(path.as_ref(), &bytes)
}

/// An IDX label file.
pub fn write_idx_labels(path: impl AsRef<Path>, labels: &[u8]) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(8 + labels.len());
    for v in [LABELS_MAGIC, labels.len() as u32] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    write(path.as_ref(), &bytes)
}

/// A CIFAR-10 batch file: per record a label and 3072 pixel bytes (CHW).
pub fn write_cifar_batch(path: impl AsRef<Path>, records: &[(u8, Vec<u8>)]) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(records.len() * (1 + PIXELS));
    for (i, (label, px)) in records.iter().enumerate() {
        if px.len() != PIXELS {
            return Err(invalid(format!(
                "record {i} has {} pixels, not {PIXELS}",
                px.len()
            )));
        }
        bytes.push(*label);
        bytes.extend_from_slice(px);
    }
    write(path.as_ref(), &bytes)
}

/// A directory that is deleted, with its contents, when dropped.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty directory under the system temp dir, unique per process and call.
pub fn scratch_dir(tag: &str) -> std::io::Result<ScratchDir> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "insitu-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(ScratchDir(dir))
}
