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

/// Parses `text` (from `origin`, for messages) with overrides, and validates it.
pub fn parse(text: &str, origin: &str, sets: &[String]) -> Result<ExperimentConfig, ConfigError> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::File {
        path: origin.into(),
        message: e.to_string(),
    })?;
    for s in sets {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            ConfigError::Parse(format!(
                "--set `{s}`: expected key=value, e.g. train.epochs=5"
            ))
        })?;
        set_key(&mut table, k.trim(), v.trim())?;
    }
    super::resolve_device(&mut table)?;
    let mut cfg: ExperimentConfig =
        ExperimentConfig::deserialize(table).map_err(|e| ConfigError::File {
            path: origin.into(),
            message: e.to_string(),
        })?;
    cfg.normalize();
    cfg.validate()?;
    Ok(cfg)
}

/// Reads and parses an experiment file.
pub fn load(path: &Path, sets: &[String]) -> Result<ExperimentConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse(&text, &path.display().to_string(), sets)
}
