//! File access shared by the IDX and CIFAR readers: gzip detection and finding files by name.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::DataError;

/// Reads `path` whole, gunzipping it when it starts with the gzip magic 1f 8b: downloads are
/// renamed often enough that the extension cannot be trusted.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        file: file.clone(),
        source,
    })?;
    gunzip_if_needed(bytes, &file)
}

/// Decompresses `bytes` if they are gzip, else returns them unchanged; `file` names them in errors.
pub fn gunzip_if_needed(bytes: Vec<u8>, file: &str) -> Result<Vec<u8>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            file: file.into(),
            source,
        })?;
    Ok(out)
}

/// The first of `names` that exists in `dir`; otherwise an error listing the names tried and
/// what the directory does hold.
pub fn find(dir: &Path, what: &'static str, names: &[String]) -> Result<PathBuf, DataError> {
    if let Some(p) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        return Ok(p);
    }
    Err(DataError::Missing {
        dir: dir.display().to_string(),
        what,
        tried: names.join(", "),
        listing: listing(dir),
    })
}

/// A short description of a directory's contents for error messages.
fn listing(dir: &Path) -> String {
    const SHOWN: usize = 20;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return format!("the directory cannot be read ({e})"),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    match names.len() {
        0 => "the directory is empty".into(),
        n if n <= SHOWN => format!("the directory holds: {}", names.join(", ")),
        n => format!(
            "the directory holds: {}, ... ({} more)",
            names[..SHOWN].join(", "),
            n - SHOWN
        ),
    }
}
