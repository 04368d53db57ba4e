//! The one experiment schema: data, network, learning rule, optimizer, crossbar, device, chip.

pub mod error;
pub mod experiment;
pub mod load;
pub mod xbar;

pub use error::{check, ConfigError};
pub use experiment::*;
pub use load::{load, parse};
pub use xbar::{AdcMode, ArrayConfig, DeviceConfig, Drift, Mapping, Rounding};

/// Replaces a `[device]` table naming a `preset` by the preset's fields with the table's
/// overrides applied (no-op while no presets are defined beyond the defaults).
fn resolve_device(_table: &mut toml::Table) -> Result<(), ConfigError> {
    Ok(())
}
