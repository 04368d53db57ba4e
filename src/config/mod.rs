//! The one experiment schema: data, network, learning rule, optimizer, crossbar, device, chip.

pub mod error;
pub mod experiment;
pub mod load;
pub mod wage;
pub mod xbar;

pub use error::{check, ConfigError};
pub use experiment::*;
pub use load::{dir_of, load, parse, parse_in, PATH_KEYS};
pub use wage::{TrainMode, WageConfig};
pub use xbar::{
    AdcMode, ArrayConfig, C2cLaw, DeviceConfig, Drift, Mapping, ReadNoiseModel, Rounding,
};

/// Replaces the `[device]` table by its preset's fields with the table's overrides applied.
fn resolve_device(table: &mut toml::Table) -> Result<(), ConfigError> {
    let Some(dev) = table.get("device") else {
        return Ok(());
    };
    let Some(t) = dev.as_table() else {
        return Err(ConfigError::Invalid {
            field: "device".into(),
            value: dev.to_string(),
            allowed: "a table (e.g. [device] preset = \"fefet\")".into(),
        });
    };
    let resolved = crate::xbar::presets::resolve(t)?;
    let value = toml::Value::try_from(&resolved)
        .map_err(|e| ConfigError::Parse(format!("[device]: {e}")))?;
    table.insert("device".into(), value);
    Ok(())
}
