//! CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (32x32, channel planes
//! R, G, B), 10,000 per file in the official release; any count is accepted here.

use std::path::{Path, PathBuf};

use super::dataset::RawDataset;
use super::error::DataError;
use super::file::{find, read_bytes};

pub const SHAPE: [usize; 3] = [3, 32, 32];
pub const PIXELS: usize = 3 * 32 * 32;
pub const RECORD: usize = 1 + PIXELS;
pub const CLASSES: usize = 10;
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const TEST_FILE: &str = "test_batch.bin";
/// The folder the official archive unpacks into; accepted below the configured path.
pub const ARCHIVE_DIR: &str = "cifar-10-batches-bin";

/// Parses one (already decompressed) batch file; `file` names it in errors.
pub fn parse_batch(bytes: &[u8], file: &str) -> Result<RawDataset, DataError> {
    if !bytes.len().is_multiple_of(RECORD) {
        return Err(DataError::Records {
            file: file.into(),
            len: bytes.len() as u64,
            record: RECORD as u64,
        });
    }
    let n = bytes.len() / RECORD;
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for rec in bytes.chunks_exact(RECORD) {
        labels.push(rec[0] as u32);
        pixels.extend_from_slice(&rec[1..]);
    }
    let set = RawDataset {
        pixels,
        labels,
        shape: SHAPE,
        classes: CLASSES,
    };
    set.check_labels(file, " (CIFAR-10 has 10 classes)")?;
    Ok(set)
}

/// Reads one batch file (raw or gzip).
pub fn read_batch(path: &Path) -> Result<RawDataset, DataError> {
    parse_batch(&read_bytes(path)?, &path.display().to_string())
}

/// `dir` itself, or the archive's folder inside it when the batches live there.
fn batches_dir(dir: &Path) -> PathBuf {
    let nested = dir.join(ARCHIVE_DIR);
    if !dir.join(TRAIN_FILES[0]).is_file() && nested.join(TRAIN_FILES[0]).is_file() {
        nested
    } else {
        dir.to_path_buf()
    }
}

/// Loads the five training batches (in order) and the test batch; all six must be present so a
/// partial download cannot silently shrink the training set.
pub fn load_dir(dir: &Path) -> Result<(RawDataset, RawDataset), DataError> {
    let dir = batches_dir(dir);
    let mut train = RawDataset {
        pixels: Vec::new(),
        labels: Vec::new(),
        shape: SHAPE,
        classes: CLASSES,
    };
    for name in TRAIN_FILES {
        let batch = read_batch(&find(&dir, "CIFAR-10 training batch", &[name.into()])?)?;
        train.pixels.extend(batch.pixels);
        train.labels.extend(batch.labels);
    }
    let test = read_batch(&find(&dir, "CIFAR-10 test batch", &[TEST_FILE.into()])?)?;
    Ok((train, test))
}
