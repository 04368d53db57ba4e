//! Choosing and opening the backend: the CPU reference, a GPU adapter, or the best of them.

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::gpu::{AdapterChoice, GemmPrecision, GpuBackend, GpuContext, GpuError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// A hardware GPU when one exists (or the adapter named by --adapter / WGPU_ADAPTER_NAME),
    /// else the CPU backend, which outruns software rasterizers; prints which and why.
    Auto,
    /// wgpu compute shaders on the chosen adapter.
    Gpu,
    /// The plain-Rust reference kernels.
    Cpu,
}

/// Whether an adapter is a software rasterizer (llvmpipe/lavapipe, WARP, SwiftShader): wgpu
/// reports these as CPU devices, and some only by name.
pub fn is_software(info: &wgpu::AdapterInfo) -> bool {
    is_software_name(&info.name, info.device_type)
}

fn is_software_name(name: &str, device_type: wgpu::DeviceType) -> bool {
    let name = name.to_lowercase();
    device_type == wgpu::DeviceType::Cpu
        || [
            "llvmpipe",
            "lavapipe",
            "swiftshader",
            "warp",
            "basic render",
            "softpipe",
        ]
        .iter()
        .any(|s| name.contains(s))
}

/// Opens the backend; a missing adapter is an error that says how to get one, and so is an
/// f16 GEMM (`--gemm f16`) on a backend without it.
pub fn open(kind: BackendKind, adapter: Option<String>) -> anyhow::Result<Box<dyn Backend>> {
    let be = open_any(kind, adapter)?;
    if crate::gpu::gemm_variants::default_precision() == GemmPrecision::F16
        && be.describe().backend == "cpu"
    {
        anyhow::bail!("`--gemm f16` runs on the GPU backend only; this run uses the CPU backend");
    }
    Ok(be)
}

/// A GPU backend on `ctx` with the GEMM precision of `--gemm`.
fn gpu(ctx: std::sync::Arc<GpuContext>) -> Result<Box<dyn Backend>, GpuError> {
    let mut be = GpuBackend::new(ctx);
    be.set_gemm_precision(crate::gpu::gemm_variants::default_precision())?;
    Ok(Box::new(be))
}

fn open_any(kind: BackendKind, adapter: Option<String>) -> anyhow::Result<Box<dyn Backend>> {
    Ok(match kind {
        BackendKind::Cpu => Box::new(CpuBackend::new()),
        BackendKind::Gpu => {
            let ctx = GpuContext::open(&AdapterChoice { name: adapter })?;
            gpu(ctx)?
        }
        BackendKind::Auto => auto(adapter)?,
    })
}

/// `--backend auto`: an adapter asked for by name is used whatever it is; otherwise the best
/// hardware adapter, and the CPU backend when there are only software ones (or none).
fn auto(adapter: Option<String>) -> anyhow::Result<Box<dyn Backend>> {
    let choice = AdapterChoice { name: adapter };
    if let Some(selector) = choice.selector() {
        let name = format!("{selector}");
        return match GpuContext::open(&choice) {
            Ok(ctx) => {
                eprintln!(
                    "note: backend gpu on `{}` (asked for by name `{name}`)",
                    ctx.info.name
                );
                Ok(gpu(ctx)?)
            }
            Err(GpuError::NoAdapter { .. }) => {
                eprintln!(
                    "note: backend cpu: no adapter matches `{name}` \
                     (`insitu info` lists the adapters)"
                );
                Ok(Box::new(CpuBackend::new()))
            }
            Err(e) => Err(e.into()),
        };
    }
    let adapters = crate::gpu::list_adapters();
    let software: Vec<String> = adapters
        .iter()
        .filter(|a| is_software(a))
        .map(|a| a.name.clone())
        .collect();
    if software.len() == adapters.len() {
        if software.is_empty() {
            eprintln!(
                "note: backend cpu: no GPU adapter found (`insitu info` says how to get one)"
            );
        } else {
            eprintln!(
                "note: backend cpu: the only adapters are software rasterizers ({}), slower \
                 than the CPU backend; --backend gpu or --adapter NAME runs on one anyway",
                software.join(", ")
            );
        }
        return Ok(Box::new(CpuBackend::new()));
    }
    let ctx = GpuContext::open(&AdapterChoice::default())?;
    if is_software(&ctx.info) {
        eprintln!(
            "note: backend cpu: the best adapter, `{}`, is a software rasterizer",
            ctx.info.name
        );
        return Ok(Box::new(CpuBackend::new()));
    }
    eprintln!(
        "note: backend gpu on `{}` ({:?}, {:?})",
        ctx.info.name, ctx.info.device_type, ctx.info.backend
    );
    Ok(gpu(ctx)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_adapters_are_recognised() {
        use wgpu::DeviceType::*;
        assert!(is_software_name("llvmpipe (LLVM 15.0.7, 256 bits)", Cpu));
        assert!(is_software_name("SwiftShader Device (Subzero)", Other));
        assert!(is_software_name("Microsoft Basic Render Driver", Other));
        assert!(!is_software_name("NVIDIA H100 80GB HBM3", DiscreteGpu));
        assert!(!is_software_name(
            "AMD Radeon Graphics (RADV GFX1103_R1)",
            IntegratedGpu
        ));
    }
}
