//! The one experiment schema: data, network, learning rule, optimizer, crossbar, device, chip.
//! Every schema and preset lives here, below the code that reads them.

pub mod activation;
pub mod arch;
pub mod array;
pub mod chip;
pub mod chip_training;
pub mod compress;
pub mod data;
pub mod device;
pub mod error;
pub mod experiment;
pub mod load;
pub mod presets;
pub mod shape;
mod validate;
pub mod wage;
mod wage_mode;
pub mod xbar;

pub use activation::{Activation, LossKind};
pub use array::{AdcMode, ArrayConfig, Mapping};
pub use device::{C2cLaw, DeviceConfig, Drift, ReadNoiseModel, Rounding};
pub use error::{check, ConfigError};
pub use experiment::*;
pub use load::{dir_of, load, parse, parse_in, PATH_KEYS};
pub use wage::{TrainMode, WageConfig};
pub use xbar::{validate_pair, Xbar};
