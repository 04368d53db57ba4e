//! Choosing the backend from the command line.

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::gpu::{AdapterChoice, GpuBackend, GpuContext};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// wgpu compute shaders on the chosen adapter.
    Gpu,
    /// The plain-Rust reference kernels.
    Cpu,
}

/// Opens the backend; a missing adapter is an error that says how to get one.
pub fn open(kind: BackendKind, adapter: Option<String>) -> anyhow::Result<Box<dyn Backend>> {
    Ok(match kind {
        BackendKind::Cpu => Box::new(CpuBackend::new()),
        BackendKind::Gpu => {
            let ctx = GpuContext::open(&AdapterChoice { name: adapter })?;
            Box::new(GpuBackend::new(ctx))
        }
    })
}
