//! Choosing the backend from the command line.

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::gpu::{AdapterChoice, GpuBackend, GpuContext, GpuError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// The GPU when an adapter exists, else the CPU reference (with a note).
    Auto,
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
        BackendKind::Auto => match GpuContext::open(&AdapterChoice { name: adapter }) {
            Ok(ctx) => Box::new(GpuBackend::new(ctx)),
            Err(GpuError::NoAdapter { .. }) => {
                eprintln!(
                    "note: no GPU adapter found; running the CPU reference backend \
                     (`insitu info` says how to get an adapter)"
                );
                Box::new(CpuBackend::new())
            }
            Err(e) => return Err(e.into()),
        },
    })
}
