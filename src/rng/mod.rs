//! Counter-based randomness: Philox4x32-10, identical in Rust and in `shaders/philox.wgsl`.
//!
//! A stream is keyed by (seed, purpose, layer/instance...) through [`key`]; the element index (and
//! the step, where draws repeat per step) form the counter. Results never depend on dispatch order.

pub mod augment;
mod philox;

pub use philox::{key, normal, philox4x32_10, uniform, Purpose};
