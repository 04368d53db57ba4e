//! The GEMM's staging variants (`shaders/gemm.wgsl`): vec4 global loads where the operands'
//! layout allows, double-buffered staging where two slices fit the device's workgroup memory,
//! the opt-in f16 staging, and the override constants that select them.

use std::sync::atomic::{AtomicBool, Ordering};

use super::tiles::GemmTile;
use crate::backend::GemmParams;

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
