//! IDX reader for the MNIST family (MNIST, Fashion-MNIST, EMNIST): a big-endian header, then
//! unsigned bytes. Images are n x rows x cols; any image size is accepted.

use std::path::Path;

use super::config::DataConfig;
use super::dataset::RawDataset;
use super::error::DataError;
use super::file::{find, read_bytes};

/// Unsigned bytes, 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Unsigned bytes, 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The payload of an IDX image file.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    /// n x h x w, row-major.
    pub pixels: Vec<u8>,
}

fn be(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Checks the magic (when there are enough bytes to hold one) and then the header length, so that
/// a labels file passed as images is reported as such rather than as truncated.
fn header(
    bytes: &[u8],
    file: &str,
    kind: &'static str,
    magic: u32,
    len: usize,
) -> Result<(), DataError> {
    if bytes.len() >= 4 && be(bytes, 0) != magic {
        let found = be(bytes, 0);
        let hint = match found {
            IMAGES_MAGIC => " (an IDX images file)",
            LABELS_MAGIC => " (an IDX labels file)",
            _ => "",
        };
        return Err(DataError::Magic {
            file: file.into(),
            kind,
            expected: magic,
            found,
            hint,
        });
    }
    if bytes.len() < len {
        return Err(DataError::Length {
            file: file.into(),
            what: format!("IDX {kind} header"),
            expected: len as u64,
            found: bytes.len() as u64,
        });
    }
    Ok(())
}

/// Parses an (already decompressed) IDX image file; `file` names it in errors.
pub fn parse_images(bytes: &[u8], file: &str) -> Result<IdxImages, DataError> {
    header(bytes, file, "images", IMAGES_MAGIC, 16)?;
    let [n, h, w] = [4, 8, 12].map(|at| be(bytes, at) as usize);
    if h == 0 || w == 0 {
        return Err(DataError::Shape {
            file: file.into(),
            message: format!(
                "the header gives {h} x {w} images; rows and columns must be at least 1"
            ),
        });
    }
    let side = crate::limits::MAX_SIDE;
    if h > side || w > side {
        return Err(DataError::Shape {
            file: file.into(),
            message: format!(
                "the header gives {h} x {w} images; rows and columns must be at most {side}"
            ),
        });
    }
    let expected = n as u64 * h as u64 * w as u64;
    let found = (bytes.len() - 16) as u64;
    if found != expected {
        return Err(DataError::Length {
            file: file.into(),
            what: format!("pixels for {n} x {h} x {w} images"),
            expected,
            found,
        });
    }
    Ok(IdxImages {
        n,
        h,
        w,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses an (already decompressed) IDX label file; `file` names it in errors.
pub fn parse_labels(bytes: &[u8], file: &str) -> Result<Vec<u32>, DataError> {
    header(bytes, file, "labels", LABELS_MAGIC, 8)?;
    let n = be(bytes, 4) as u64;
    let found = (bytes.len() - 8) as u64;
    if found != n {
        return Err(DataError::Length {
            file: file.into(),
            what: format!("labels for {n} items"),
            expected: n,
            found,
        });
    }
    Ok(bytes[8..].iter().map(|&b| b as u32).collect())
}

/// Pairs images with labels. `classes` is one above the largest label (0 when empty); callers
/// that know the class count overwrite it and call [`RawDataset::check_labels`].
pub fn pair(
    images: IdxImages,
    images_file: &str,
    labels: Vec<u32>,
    labels_file: &str,
) -> Result<RawDataset, DataError> {
    if images.n != labels.len() {
        return Err(DataError::CountMismatch {
            images_file: images_file.into(),
            images: images.n,
            labels_file: labels_file.into(),
            labels: labels.len(),
        });
    }
    Ok(RawDataset {
        pixels: images.pixels,
        classes: labels.iter().max().map_or(0, |&m| m as usize + 1),
        labels,
        shape: [1, images.h, images.w],
    })
}

/// Reads an image file and a label file (each raw or gzip) into one data set.
pub fn read_pair(images: &Path, labels: &Path) -> Result<RawDataset, DataError> {
    let (fi, fl) = (images.display().to_string(), labels.display().to_string());
    let im = parse_images(&read_bytes(images)?, &fi)?;
    let lb = parse_labels(&read_bytes(labels)?, &fl)?;
    pair(im, &fi, lb, &fl)
}

/// File-name overrides inside the data directory; `None` tries the standard MNIST names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdxNames {
    pub train_images: Option<String>,
    pub train_labels: Option<String>,
    pub test_images: Option<String>,
    pub test_labels: Option<String>,
}

impl DataConfig {
    /// The IDX file-name overrides of `[data]`.
    pub fn idx_names(&self) -> IdxNames {
        IdxNames {
            train_images: self.train_images.clone(),
            train_labels: self.train_labels.clone(),
            test_images: self.test_images.clone(),
            test_labels: self.test_labels.clone(),
        }
    }
}

/// Names to try: the override (and its `.gz` form), or the standard names in both the original
/// (`train-images-idx3-ubyte`) and the common re-packaged (`train-images.idx3-ubyte`) spelling.
fn candidates(name: &Option<String>, split: &str, kind: &str, dims: u32) -> Vec<String> {
    let stems = match name {
        Some(n) if n.ends_with(".gz") => return vec![n.clone()],
        Some(n) => vec![n.clone()],
        None => vec![
            format!("{split}-{kind}-idx{dims}-ubyte"),
            format!("{split}-{kind}.idx{dims}-ubyte"),
        ],
    };
    stems
        .into_iter()
        .flat_map(|s| [format!("{s}.gz"), s])
        .collect()
}

/// Loads train and test sets from `dir`. `classes` = 0 infers the class count from the training
/// labels; either way every label of both sets must lie below it.
pub fn load_dir(
    dir: &Path,
    names: &IdxNames,
    classes: usize,
) -> Result<(RawDataset, RawDataset), DataError> {
    let files = [
        ("training images", &names.train_images, "train", "images", 3),
        ("training labels", &names.train_labels, "train", "labels", 1),
        ("test images", &names.test_images, "t10k", "images", 3),
        ("test labels", &names.test_labels, "t10k", "labels", 1),
    ]
    .map(|(what, name, split, kind, dims)| find(dir, what, &candidates(name, split, kind, dims)));
    let [tri, trl, tei, tel] = files;
    let (tri, trl, tei, tel) = (tri?, trl?, tei?, tel?);
    let mut train = read_pair(&tri, &trl)?;
    let mut test = read_pair(&tei, &tel)?;
    if test.shape != train.shape {
        return Err(DataError::Shape {
            file: tei.display().to_string(),
            message: format!(
                "test images are {}x{} but the training images ({}) are {}x{}",
                test.shape[1],
                test.shape[2],
                tri.display(),
                train.shape[1],
                train.shape[2]
            ),
        });
    }
    let hint = if classes == 0 {
        " (the class count is inferred from the training labels; set data.classes to allow more)"
    } else {
        " (data.classes)"
    };
    let classes = if classes == 0 { train.classes } else { classes };
    train.classes = classes;
    test.classes = classes;
    train.check_labels(&trl.display().to_string(), hint)?;
    test.check_labels(&tel.display().to_string(), hint)?;
    Ok((train, test))
}
