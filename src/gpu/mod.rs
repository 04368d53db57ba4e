//! wgpu compute: adapter selection, the kernel registry, the pipeline cache and the backend.

pub mod backend;
pub mod context;
pub mod pipelines;
pub mod shaders;
pub mod tiles;
pub mod timing;
pub mod xbar;

pub use backend::GpuBackend;
pub use context::{
    list_adapters, AdapterChoice, AdapterSelector, AdapterSummary, GpuContext, GpuError,
};
