//! CIFAR-100 binary version: records of 2 label bytes (coarse class 0..20, fine class 0..100)
//! and 3072 pixel bytes (32x32, channel planes R, G, B); `train.bin` (50,000 records) and
//! `test.bin` (10,000) in the official release, any count accepted here.

use std::path::{Path, PathBuf};

use super::config::Cifar100Labels;
use super::dataset::RawDataset;
use super::error::DataError;
use super::file::{find, read_bytes};

pub const SHAPE: [usize; 3] = [3, 32, 32];
pub const PIXELS: usize = 3 * 32 * 32;
pub const RECORD: usize = 2 + PIXELS;
pub const TRAIN_FILE: &str = "train.bin";
pub const TEST_FILE: &str = "test.bin";
/// The folder the official archive unpacks into; accepted below the configured path.
pub const ARCHIVE_DIR: &str = "cifar-100-binary";

/// Classes of each label set.
pub fn classes(labels: Cifar100Labels) -> usize {
    labels.classes()
}

/// Parses one (already decompressed) file keeping the `labels` byte; `file` names it in errors.
pub fn parse(bytes: &[u8], file: &str, labels: Cifar100Labels) -> Result<RawDataset, DataError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(DataError::Shape {
            file: file.into(),
            message: format!(
                "length {} bytes is not a positive multiple of the CIFAR-100 record size {RECORD} \
                 (coarse and fine label bytes + 3072 pixel bytes)",
                bytes.len()
            ),
        });
    }
    let n = bytes.len() / RECORD;
    let at = match labels {
        Cifar100Labels::Coarse => 0,
        Cifar100Labels::Fine => 1,
    };
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut out = Vec::with_capacity(n);
    for rec in bytes.chunks_exact(RECORD) {
        out.push(rec[at] as u32);
        pixels.extend_from_slice(&rec[2..]);
    }
    let set = RawDataset {
        pixels,
        labels: out,
        shape: SHAPE,
        classes: classes(labels),
    };
    let hint = match labels {
        Cifar100Labels::Fine => " (CIFAR-100 has 100 fine classes; is this a CIFAR-10 file?)",
        Cifar100Labels::Coarse => " (CIFAR-100 has 20 coarse classes)",
    };
    set.check_labels(file, hint)?;
    Ok(set)
}

/// `dir` itself, or the archive's folder inside it when the files live there.
fn files_dir(dir: &Path) -> PathBuf {
    let nested = dir.join(ARCHIVE_DIR);
    if !dir.join(TRAIN_FILE).is_file() && nested.join(TRAIN_FILE).is_file() {
        nested
    } else {
        dir.to_path_buf()
    }
}

/// Loads `train.bin` and `test.bin` (raw or gzip) with the chosen label set.
pub fn load_dir(dir: &Path, labels: Cifar100Labels) -> Result<(RawDataset, RawDataset), DataError> {
    let dir = files_dir(dir);
    let read = |name: &str, what: &'static str| -> Result<RawDataset, DataError> {
        let path = find(&dir, what, &[name.into()])?;
        parse(&read_bytes(&path)?, &path.display().to_string(), labels)
    };
    Ok((
        read(TRAIN_FILE, "CIFAR-100 training file")?,
        read(TEST_FILE, "CIFAR-100 test file")?,
    ))
}
