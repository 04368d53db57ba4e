//! The one experiment schema: data, network, learning rule, optimizer, crossbar, device, chip.

pub mod error;
pub mod xbar;

pub use error::{check, ConfigError};
pub use xbar::{AdcMode, ArrayConfig, DeviceConfig, Drift, Mapping, Rounding};
