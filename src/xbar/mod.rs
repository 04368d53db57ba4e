//! Crossbar physics, the plain-Rust reference: weight-to-cell mapping, the quantized analog read
//! (forward and transposed), conductance-update programming and the device models. The GPU
//! kernels mirror these functions; `docs/crossbar.md` states the model and the random-draw layout.

pub mod adc;
pub mod adc_range;
pub mod counters;
pub mod d2d;
pub mod device;
pub mod direction;
pub mod draws;
pub mod drift;
pub mod drift_compensation;
pub mod effective;
pub mod fast_read;
pub mod geometry;
pub mod knobs;
pub mod layout;
pub mod mapping;
pub mod minmax;
pub mod nl;
pub mod param_table;
pub mod percentile;
pub mod program;
pub mod read;
pub mod read_input;
pub mod read_noise;
pub mod stuck;

pub use crate::config::{presets, validate_pair, Xbar};
pub use counters::Counters;
pub use direction::Direction;
pub use knobs::Knobs;
pub use mapping::{map_for_training, map_weights, LayerCells};
pub use program::{program, WriteCounters};
pub use read::{calibrate, read, read_forward, read_raw, read_transposed};
