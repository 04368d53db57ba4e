//! NumPy data sets (`data.source = "npy"`): four arrays, training and test images and labels,
//! as `.npy` files in a directory or as entries of one `.npz` archive.
//!
//! - Images: `uint8` (0..=255) or `float32`/`float64` (intensities where 1.0 plays the role of
//!   byte 255, as torchvision's `ToTensor` gives), shaped `[N, H, W]` (one channel),
//!   `[N, C, H, W]` or `[N, H, W, C]`. A 4-D array is channels-first when its dimension 1 is at
//!   most 4 and its dimension 3 is not, channels-last in the opposite case; `data.layout =
//!   "nchw"` or `"nhwc"` settles the rest.
//! - Labels: any integer dtype, shaped `[N]` or `[N, 1]`, values in `0..classes`.
//!
//! Names tried (file `<name>.npy` in a directory, entry `<name>` or `<name>.npy` in an archive):
//! `train_images`/`x_train`, `train_labels`/`y_train`, `test_images`/`x_test`,
//! `test_labels`/`y_test`; `data.train_images` and friends override them.

use std::io::Read;
use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};

use super::config::{DataConfig, ImageLayout};
use super::dataset::{Dataset, RawDataset};
use super::error::DataError;

/// Images as stored: bytes, or floats in byte/255 units.
pub enum Images {
    Bytes(RawDataset),
    Floats(Dataset),
}

impl Images {
    pub fn len(&self) -> usize {
        match self {
            Images::Bytes(r) => r.len(),
            Images::Floats(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shape(&self) -> [usize; 3] {
        match self {
            Images::Bytes(r) => r.shape,
            Images::Floats(d) => d.shape,
        }
    }
}

/// One array read whole: its shape and values (converted to the wanted element type).
struct Array<T> {
    shape: Vec<usize>,
    values: Vec<T>,
}

fn shape_error(file: &str, message: String) -> DataError {
    DataError::Shape {
        file: file.into(),
        message,
    }
}

fn open<R: Read>(r: R, file: &str) -> Result<NpyFile<R>, DataError> {
    let npy = NpyFile::new(r).map_err(|e| {
        shape_error(
            file,
            format!("not a NumPy .npy array (expected the \\x93NUMPY magic and a header): {e}"),
        )
    })?;
    if npy.order() == Order::Fortran && npy.shape().len() > 1 {
        return Err(shape_error(
            file,
            "the array is in Fortran order; save it with np.ascontiguousarray(a)".into(),
        ));
    }
    Ok(npy)
}

/// The element kind and size of a plain dtype (`('f', 4)` for float32).
fn kind(npy: &NpyFile<impl Read>, file: &str) -> Result<(TypeChar, u64), DataError> {
    match npy.dtype() {
        DType::Plain(t) => Ok((t.type_char(), t.size_field())),
        other => Err(shape_error(
            file,
            format!(
                "dtype {} is a structured type; expected a plain numeric array",
                other.descr()
            ),
        )),
    }
}

/// Reads the values as `T`, naming what was expected when the data section is short.
fn values<T: npyz::Deserialize, R: Read>(npy: NpyFile<R>, file: &str) -> Result<Vec<T>, DataError> {
    let (n, dtype, shape) = (npy.len(), npy.dtype().descr(), npy.shape().to_vec());
    npy.into_vec::<T>().map_err(|e| {
        shape_error(
            file,
            format!(
                "expected {n} values of dtype {dtype} for shape {shape:?}; the data is truncated \
                 or malformed ({e})"
            ),
        )
    })
}

fn read_images<R: Read>(r: R, file: &str) -> Result<(Array<u8>, Option<Array<f32>>), DataError> {
    let npy = open(r, file)?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    match kind(&npy, file)? {
        (TypeChar::Uint, 1) => Ok((
            Array {
                values: values::<u8, _>(npy, file)?,
                shape,
            },
            None,
        )),
        (TypeChar::Float, 4) => Ok((
            Array {
                shape: shape.clone(),
                values: Vec::new(),
            },
            Some(Array {
                values: values::<f32, _>(npy, file)?,
                shape,
            }),
        )),
        (TypeChar::Float, 8) => {
            let v = values::<f64, _>(npy, file)?;
            Ok((
                Array {
                    shape: shape.clone(),
                    values: Vec::new(),
                },
                Some(Array {
                    values: v.into_iter().map(|x| x as f32).collect(),
                    shape,
                }),
            ))
        }
        (c, s) => Err(shape_error(
            file,
            format!(
                "image dtype {}{s} is not supported; expected uint8, float32 or float64",
                c.to_str()
            ),
        )),
    }
}

fn read_labels<R: Read>(r: R, file: &str) -> Result<Vec<u32>, DataError> {
    let npy = open(r, file)?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if !(shape.len() == 1 || (shape.len() == 2 && shape[1] == 1)) {
        return Err(shape_error(
            file,
            format!("labels have shape {shape:?}; expected [N] or [N, 1]"),
        ));
    }
    let wide: Vec<i128> = match kind(&npy, file)? {
        (TypeChar::Uint, 1) => values::<u8, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (TypeChar::Uint, 2) => values::<u16, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (TypeChar::Uint, 4) => values::<u32, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (TypeChar::Uint, 8) => values::<u64, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (TypeChar::Int, 1) => values::<i8, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (TypeChar::Int, 2) => values::<i16, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (TypeChar::Int, 4) => values::<i32, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (TypeChar::Int, 8) => values::<i64, _>(npy, file)?
            .into_iter()
            .map(i128::from)
            .collect(),
        (c, s) => {
            return Err(shape_error(
                file,
                format!(
                    "label dtype {}{s} is not supported; expected an integer dtype",
                    c.to_str()
                ),
            ))
        }
    };
    wide.iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::try_from(v)
                .map_err(|_| shape_error(file, format!("label {v} at index {i} is not in 0..2^32")))
        })
        .collect()
}

/// `[N, C, H, W]` of an image array's shape.
fn image_dims(
    shape: &[usize],
    layout: ImageLayout,
    file: &str,
) -> Result<([usize; 4], bool), DataError> {
    let bad = |why: &str| {
        shape_error(
            file,
            format!("images have shape {shape:?}: {why}; expected [N, H, W], [N, C, H, W] or [N, H, W, C]"),
        )
    };
    match (shape, layout) {
        ([n, h, w], ImageLayout::Auto | ImageLayout::Nchw | ImageLayout::Nhwc) => {
            Ok(([*n, 1, *h, *w], false))
        }
        ([n, c, h, w], ImageLayout::Nchw) => Ok(([*n, *c, *h, *w], false)),
        ([n, h, w, c], ImageLayout::Nhwc) => Ok(([*n, *c, *h, *w], true)),
        ([n, a, b, c], ImageLayout::Auto) => match (*a <= 4, *c <= 4) {
            (true, false) => Ok(([*n, *a, *b, *c], false)),
            (false, true) => Ok(([*n, *c, *a, *b], true)),
            _ => Err(bad(
                "channels-first or channels-last cannot be told apart; set data.layout = \
                 \"nchw\" or \"nhwc\"",
            )),
        },
        _ => Err(bad("wrong number of dimensions")),
    }
    .and_then(|(d, last)| {
        if d[1..].contains(&0) {
            Err(bad("an image dimension is zero"))
        } else {
            Ok((d, last))
        }
    })
}

/// Reorders `[N][H][W][C]` to `[N][C][H][W]`.
fn to_chw<T: Copy>(v: &[T], [n, c, h, w]: [usize; 4]) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len());
    for img in v.chunks_exact(h * w * c).take(n) {
        for ch in 0..c {
            out.extend((0..h * w).map(|p| img[p * c + ch]));
        }
    }
    out
}

/// Builds the image set of one split with `labels`.
fn images(
    (bytes, floats): (Array<u8>, Option<Array<f32>>),
    labels: Vec<u32>,
    layout: ImageLayout,
    files: (&str, &str),
) -> Result<Images, DataError> {
    let (file, labels_file) = files;
    let (dims, last) = image_dims(&bytes.shape, layout, file)?;
    if dims[0] != labels.len() {
        return Err(DataError::CountMismatch {
            images_file: file.into(),
            images: dims[0],
            labels_file: labels_file.into(),
            labels: labels.len(),
        });
    }
    let shape = [dims[1], dims[2], dims[3]];
    Ok(match floats {
        None => {
            let pixels = if last {
                to_chw(&bytes.values, dims)
            } else {
                bytes.values
            };
            Images::Bytes(RawDataset {
                pixels,
                labels,
                shape,
                classes: 0,
            })
        }
        Some(f) => {
            if let Some(i) = f.values.iter().position(|v| !v.is_finite()) {
                return Err(shape_error(
                    file,
                    format!("value {} at index {i} is not finite", f.values[i]),
                ));
            }
            let images = if last {
                to_chw(&f.values, dims)
            } else {
                f.values
            };
            Images::Floats(Dataset {
                images,
                labels,
                shape,
                classes: 0,
            })
        }
    })
}

/// Names tried for each of the four arrays, overrides first.
fn names(cfg: &DataConfig) -> [Vec<String>; 4] {
    let pick = |o: &Option<String>, a: &str, b: &str| match o {
        Some(n) => vec![n.clone()],
        None => vec![a.to_string(), b.to_string()],
    };
    [
        pick(&cfg.train_images, "train_images", "x_train"),
        pick(&cfg.train_labels, "train_labels", "y_train"),
        pick(&cfg.test_images, "test_images", "x_test"),
        pick(&cfg.test_labels, "test_labels", "y_test"),
    ]
}

const WHAT: [&str; 4] = [
    "training images",
    "training labels",
    "test images",
    "test labels",
];

/// Where the four arrays come from.
trait Arrays {
    /// Reads array `k` (0..4) with `f`, passing the name it was found under.
    fn with<T>(
        &mut self,
        k: usize,
        f: &dyn Fn(&mut dyn Read, &str) -> Result<T, DataError>,
    ) -> Result<(T, String), DataError>;
}

struct Dir<'a> {
    dir: &'a Path,
    names: [Vec<String>; 4],
}

impl Arrays for Dir<'_> {
    fn with<T>(
        &mut self,
        k: usize,
        f: &dyn Fn(&mut dyn Read, &str) -> Result<T, DataError>,
    ) -> Result<(T, String), DataError> {
        let tried: Vec<String> = self.names[k]
            .iter()
            .map(|n| {
                if n.ends_with(".npy") {
                    n.clone()
                } else {
                    format!("{n}.npy")
                }
            })
            .collect();
        let path = super::file::find(self.dir, WHAT[k], &tried)?;
        let file = path.display().to_string();
        let mut r = std::io::BufReader::new(std::fs::File::open(&path).map_err(|source| {
            DataError::Io {
                file: file.clone(),
                source,
            }
        })?);
        Ok((f(&mut r, &file)?, file))
    }
}

struct Npz {
    file: String,
    zip: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    names: [Vec<String>; 4],
}

impl Arrays for Npz {
    fn with<T>(
        &mut self,
        k: usize,
        f: &dyn Fn(&mut dyn Read, &str) -> Result<T, DataError>,
    ) -> Result<(T, String), DataError> {
        let entries: Vec<String> = self
            .zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        let found = self.names[k].iter().find_map(|n| {
            [n.clone(), format!("{n}.npy")]
                .into_iter()
                .find(|e| entries.contains(e))
        });
        let Some(entry) = found else {
            return Err(DataError::Missing {
                dir: self.file.clone(),
                what: WHAT[k],
                tried: self.names[k].join(", "),
                listing: format!("the archive holds: {}", entries.join(", ")),
            });
        };
        let name = format!("{}[{entry}]", self.file);
        let mut r = self
            .zip
            .by_name(&entry)
            .map_err(|e| shape_error(&name, format!("cannot read the archive entry: {e}")))?;
        Ok((f(&mut r, &name)?, name))
    }
}

fn load_from(src: &mut impl Arrays, cfg: &DataConfig) -> Result<(Images, Images), DataError> {
    let layout = cfg.layout;
    let mut split = |k: usize| -> Result<Images, DataError> {
        let (img, img_file) = src.with(k, &|r, file| read_images(r, file))?;
        let (labels, labels_file) = src.with(k + 1, &|r, file| read_labels(r, file))?;
        images(img, labels, layout, (&img_file, &labels_file))
    };
    let train = split(0)?;
    let test = split(2)?;
    if train.shape() != test.shape() {
        return Err(shape_error(
            &cfg.path.clone().unwrap_or_default(),
            format!(
                "training images are {:?} (C, H, W) but test images are {:?}",
                train.shape(),
                test.shape()
            ),
        ));
    }
    if matches!(train, Images::Bytes(_)) != matches!(test, Images::Bytes(_)) {
        return Err(shape_error(
            &cfg.path.clone().unwrap_or_default(),
            "training and test images must have the same dtype (both uint8 or both float)".into(),
        ));
    }
    Ok((train, test))
}

/// Loads the four arrays from `path` (a directory of `.npy` files or a `.npz` archive).
pub fn load(path: &Path, cfg: &DataConfig) -> Result<(Images, Images), DataError> {
    let names = names(cfg);
    if path.is_dir() {
        return load_from(&mut Dir { dir: path, names }, cfg);
    }
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|source| DataError::Io {
        file: file.clone(),
        source,
    })?;
    let zip = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| {
        shape_error(
            &file,
            format!("not a directory of .npy files nor a .npz (zip) archive: {e}"),
        )
    })?;
    load_from(&mut Npz { file, zip, names }, cfg)
}
