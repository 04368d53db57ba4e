//! Recording a GEMM (`shaders/gemm.wgsl`): the tile from the problem's size (`super::tiles`)
//! and the staging variant (`super::gemm_variants`) from its layout, the device and the
//! precision asked for.

use super::backend::GpuBackend;
use super::context::GpuError;
use super::gemm_variants::{constants, slices, vec4_aligned, GemmPrecision};
use super::shaders;
use super::tiles::GemmTile;
use crate::backend::{Buf, Gemm};

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
