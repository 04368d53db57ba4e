//! Reading an experiment file, applying `--set key=value` overrides, validating.

use std::path::Path;

use serde::Deserialize;

use super::error::ConfigError;
use super::experiment::ExperimentConfig;

/// Sets `path` (dotted, e.g. `train.epochs`) in `table` to `value`, parsed as a TOML value
/// (a bare word that is not valid TOML is taken as a string).
pub fn set_key(table: &mut toml::Table, path: &str, value: &str) -> Result<(), ConfigError> {
    let parsed: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
        Ok(mut t) => t.remove("v").expect("key v present"),
        Err(_) => toml::Value::String(value.to_string()),
    };
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ConfigError::Parse(format!(
            "--set {path}={value}: the key must be a dotted path such as train.epochs"
        )));
    }
    let mut t = table;
    for part in &parts[..parts.len() - 1] {
        let entry = t
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::Parse(format!("--set {path}: `{part}` is not a table")))?;
    }
    t.insert(parts[parts.len() - 1].to_string(), parsed);
    Ok(())
}

/// Fields that name files or directories. A relative value resolves against the directory of
/// the file that sets it (see [`parse_in`]).
pub const PATH_KEYS: [&str; 3] = ["data.path", "chip.netlist", "chip.tech_file"];

/// Joins a relative path value at dotted `key` to `dir`; other values are left alone.
fn resolve_path(table: &mut toml::Table, key: &str, dir: &Path) {
    let parts: Vec<&str> = key.split('.').collect();
    let mut t = table;
    for part in &parts[..parts.len() - 1] {
        match t.get_mut(*part).and_then(|v| v.as_table_mut()) {
            Some(inner) => t = inner,
            None => return,
        }
    }
    if let Some(toml::Value::String(s)) = t.get_mut(parts[parts.len() - 1]) {
        if !s.is_empty() && Path::new(s.as_str()).is_relative() {
            *s = dir.join(s.as_str()).to_string_lossy().into_owned();
        }
    }
}

/// Parses `text` (from `origin`, for messages) with overrides, and validates it. Paths stay
/// as written (relative to the current directory): for text with no file behind it.
pub fn parse(text: &str, origin: &str, sets: &[String]) -> Result<ExperimentConfig, ConfigError> {
    parse_in(text, origin, None, sets, None)
}

/// As [`parse`], resolving the relative [`PATH_KEYS`] of `text` against `dir` (the directory
/// of the file it came from) and those set by `sets` against `sets_dir` (`None`: the current
/// directory, as for `--set` on the command line).
pub fn parse_in(
    text: &str,
    origin: &str,
    dir: Option<&Path>,
    sets: &[String],
    sets_dir: Option<&Path>,
) -> Result<ExperimentConfig, ConfigError> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::File {
        path: origin.into(),
        message: e.to_string(),
    })?;
    if let Some(dir) = dir {
        for key in PATH_KEYS {
            resolve_path(&mut table, key, dir);
        }
    }
    for s in sets {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            ConfigError::Parse(format!(
                "--set `{s}`: expected key=value, e.g. train.epochs=5"
            ))
        })?;
        set_key(&mut table, k.trim(), v.trim())?;
        if let (Some(d), true) = (sets_dir, PATH_KEYS.contains(&k.trim())) {
            resolve_path(&mut table, k.trim(), d);
        }
    }
    super::presets::resolve_device(&mut table)?;
    let mut cfg: ExperimentConfig =
        ExperimentConfig::deserialize(table).map_err(|e| ConfigError::File {
            path: origin.into(),
            message: e.to_string(),
        })?;
    cfg.normalize();
    cfg.validate()?;
    Ok(cfg)
}

/// Reads and parses an experiment file; its paths resolve against its directory, those of
/// `sets` (the command line's) against the current directory.
pub fn load(path: &Path, sets: &[String]) -> Result<ExperimentConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse_in(
        &text,
        &path.display().to_string(),
        Some(&dir_of(path)),
        sets,
        None,
    )
}

/// The directory holding `file` (empty for a bare file name: paths then stay as written).
pub fn dir_of(file: &Path) -> std::path::PathBuf {
    file.parent().unwrap_or(Path::new("")).to_path_buf()
}
