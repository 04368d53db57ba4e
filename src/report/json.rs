//! The report's file format: pretty JSON written atomically.

use serde::Serialize;

/// Writes `value` as pretty JSON to `path` atomically (a temporary file renamed over it).
pub fn save_json<T: Serialize>(value: &T, path: &std::path::Path) -> std::io::Result<()> {
    let tmp = path.with_extension("json.partial");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}
