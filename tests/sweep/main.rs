//! Sweeps (expansion, output, packing, resume, shards) and the fixed studies.
//! One test binary per topic: each binary links the whole crate.

#[path = "../common/mod.rs"]
mod common;

mod drift_study;
mod expand;
mod output;
mod pack;
mod resume;
mod robustness_study;
mod shard;
