//! Parameter sweeps: a sweep file expands into points (grid, zip or random over dotted config
//! keys, times seeds); points that differ only in per-instance knobs train together as one
//! population run; results go to an append-only log that survives kills, resumes, shards
//! across machines and merges back.

pub mod csv;
pub mod exec;
pub mod expand;
pub mod id;
pub mod log;
pub mod manifest;
pub mod merge;
pub mod metrics;
pub mod pack;
pub mod plan;
pub mod runner;
pub mod shard;
pub mod spec;
pub mod verify;

pub use exec::{run, Options, Summary};
pub use expand::{expand, Point};
pub use log::{Record, Status};
pub use merge::merge;
pub use pack::{pack, Job};
pub use plan::{plan, Plan};
pub use shard::Shard;
pub use spec::{load, Sweep};
