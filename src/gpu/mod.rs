//! wgpu compute: adapter selection, the kernel registry, the pipeline cache and the backend.

pub mod backend;
mod buffers;
pub mod context;
mod dispatch;
pub mod gemm;
pub mod gemm_variants;
pub mod pipelines;
pub mod shaders;
pub mod tiles;
pub mod timing;
pub mod xbar;

pub use backend::GpuBackend;
pub use context::{
    list_adapters, AdapterChoice, AdapterSelector, AdapterSummary, GpuContext, GpuError,
};
pub use gemm_variants::GemmPrecision;
