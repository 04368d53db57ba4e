//! Choosing the backend from the command line.

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::gpu::{AdapterChoice, GpuBackend, GpuContext, GpuError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// A hardware GPU when one exists, else the CPU reference (with a note). A software
    /// adapter (e.g. Mesa's lavapipe) is slower than the CPU reference, so it is used only
    /// when named with `--adapter` or `INSITU_ADAPTER`/`WGPU_ADAPTER_NAME`.
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
        BackendKind::Auto => match GpuContext::open(&AdapterChoice {
            name: adapter.clone(),
        }) {
            Ok(ctx)
                if ctx.info.device_type == wgpu::DeviceType::Cpu
                    && (AdapterChoice { name: adapter }).selector().is_none() =>
            {
                eprintln!(
                    "note: the only GPU adapter is a software one ({}); running the faster CPU \
                     reference backend (name the adapter with --adapter to use it)",
                    ctx.info.name
                );
                Box::new(CpuBackend::new())
            }
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
