//! Chip cost model: area, energy and latency of a compute-in-memory chip running a network,
//! for inference and for in-situ training (BP or DFA).
//!
//! Structure: technology tables (`tech`) -> circuit blocks (`blocks`) -> mapping of layers onto
//! subarrays, PEs and tiles (`mapping`) -> floorplan (`floorplan`) -> activity-driven tally
//! (`tally`) -> training phases (`training`) and the step task graph (`schedule`) -> `report`.
//! Entry point: [`estimate`].

pub mod activity;
pub mod blocks;
mod built;
pub mod dfa_reach;
pub mod error;
mod estimate;
pub mod experiment;
pub mod floorplan;
pub mod mapping;
pub mod netlist;
pub mod neurosim_cycles;
pub mod neurosim_plan;
pub mod report;
pub mod run_cost;
pub mod schedule;
pub mod sizing;
pub mod tally;
pub mod tech;
pub mod training;
pub mod training_chip;

pub use crate::config::chip as config;
pub use crate::config::chip_training as training_config;

pub use activity::LayerActivity;
pub use built::{EstimateRequest, TrainingWorkload};
pub use config::{AdcType, ChipConfig, Dram, FloorplanMode, Interconnect, NeurosimVersion};
pub use error::ChipError;
pub use estimate::estimate;
pub use report::{print_table, ChipReport};
pub use schedule::Rule;
pub use training_config::{SignedRead, TrainingChipConfig, UpdateScheme, WgKind, WgPlacement};
