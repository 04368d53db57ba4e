//! Recording a GEMM (`shaders/gemm.wgsl`): the tile from the problem's size (`super::tiles`),
//! vec4 global loads where the operands' layout allows, double-buffered staging where two
//! slices fit the device's workgroup memory, and the opt-in f16 staging variant.

use std::sync::atomic::{AtomicBool, Ordering};

use super::backend::GpuBackend;
use super::context::GpuError;
use super::shaders;
use super::tiles::GemmTile;
use crate::backend::{Buf, Gemm, GemmParams};

/// The precision of the GEMM's staged operand slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GemmPrecision {
    /// f32 throughout, the same results as the CPU backend (the default).
    #[default]
    F32,
    /// Operands rounded to f16 as they are staged (half the shared memory and its traffic);
    /// products and sums stay f32. Needs the adapter's SHADER_F16; changes results by up to
    /// about 2^-10 of each product's size, and operands beyond +-65504 overflow.
    F16,
}

/// Whether GPU backends opened from now on use f16 staging (`--gemm f16`).
static F16_REQUESTED: AtomicBool = AtomicBool::new(false);

/// The GEMM precision for GPU backends opened from now on (the `--gemm` option).
pub fn set_default_precision(p: GemmPrecision) {
    F16_REQUESTED.store(p == GemmPrecision::F16, Ordering::Relaxed);
}

/// The precision set by [`set_default_precision`].
pub fn default_precision() -> GemmPrecision {
    if F16_REQUESTED.load(Ordering::Relaxed) {
        GemmPrecision::F16
    } else {
        GemmPrecision::F32
    }
}

/// Whether the operands can be read as vec4s along their contiguous dimension: every row of
/// every instance starts on a multiple of 4 floats.
pub fn vec4_aligned(p: &GemmParams) -> bool {
    [p.lda, p.ldb, p.off_a, p.off_b, p.stride_a, p.stride_b]
        .iter()
        .all(|v| v % 4 == 0)
}

/// Shared slices per operand: 2 (double-buffered) where they fit in `storage` bytes of
/// workgroup memory, else 1. `value_bytes`: 4 for f32 staging, 2 for f16.
pub fn slices(tile: GemmTile, value_bytes: u32, storage: u32) -> u32 {
    let (_, _, _, _, bk) = tile.shape();
    let one = bk * (tile.rows() + 4 + tile.cols() + 4) * value_bytes;
    if 2 * one <= storage {
        2
    } else {
        1
    }
}

/// The override constants of the GEMM: the tile's, then the staging choices.
pub fn constants(
    tile: GemmTile,
    trans_a: bool,
    trans_b: bool,
    vec4: bool,
    slices: u32,
) -> Vec<(&'static str, f64)> {
    let mut c = tile.constants(trans_a, trans_b);
    c.push(("VEC4", vec4 as u8 as f64));
    c.push(("SLICES", slices as f64));
    c
}

impl GpuBackend {
    /// Sets the precision of the GEMM's staged slices; f16 is refused where the adapter lacks
    /// SHADER_F16.
    pub fn set_gemm_precision(&mut self, p: GemmPrecision) -> Result<(), GpuError> {
        if p == GemmPrecision::F16 && !self.ctx.features.contains(wgpu::Features::SHADER_F16) {
            return Err(GpuError::MissingFeature {
                adapter: self.ctx.info.name.clone(),
                feature: "SHADER_F16",
                wanted: "`--gemm f16` (f16 GEMM staging; `--gemm f32` runs without it)",
            });
        }
        self.gemm_precision = p;
        Ok(())
    }

    pub fn gemm_precision(&self) -> GemmPrecision {
        self.gemm_precision
    }

    /// Records `c = alpha op(a) op(b) + beta c` for every instance of `g`.
    pub(super) fn record_gemm(&mut self, a: Buf, b: Buf, c: Buf, g: &Gemm) {
        let (m, n) = (g.params.m, g.params.n);
        let tile = (self.force_gemm_tile).unwrap_or_else(|| GemmTile::choose(m, n, g.batch));
        let (kernel, value_bytes) = match self.gemm_precision {
            GemmPrecision::F32 => (&shaders::GEMM, 4),
            GemmPrecision::F16 => (&shaders::GEMM_F16, 2),
        };
        let storage = self.ctx.limits.max_compute_workgroup_storage_size;
        let slices = self
            .force_gemm_slices
            .unwrap_or_else(|| slices(tile, value_bytes, storage));
        let vec4 = vec4_aligned(&g.params) && !self.force_scalar_gemm_loads;
        let constants = constants(tile, g.trans_a, g.trans_b, vec4, slices);
        let groups = tile.groups(m, n, g.batch);
        self.dispatch(kernel, &constants, &g.params, &[a, b, c], groups);
    }
}
