//! The run report, the output schema of every run as `config` is its input schema: what ran,
//! on what, with which settings, and what came out, and the JSON file it is written to.

mod clipping;
mod divergence;
mod json;
mod records;
mod run_report;
mod stats;

pub use clipping::{clip_fractions, ClipFractions};
pub use divergence::{Divergence, CHECK_EVERY, EXIT_DIVERGED};
pub use json::save_json;
pub use records::{mean_epochs, DeviceKnobs, EpochRecord, FinalRecord, InstanceRecord};
pub use run_report::RunReport;
pub use stats::{Spread, Stats};
