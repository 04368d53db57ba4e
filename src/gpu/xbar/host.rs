//! What the crossbar operations need of the GPU backend, so that they depend on this interface
//! rather than on `GpuBackend` (which holds the layers).

use bytemuck::Pod;

use super::layer::GpuXbar;
use crate::backend::{Backend, Buf};
use crate::gpu::shaders::Kernel;
use crate::gpu::tiles::ReadTile;

pub trait Host: Backend {
    /// The resident crossbar layers, indexed by `XbarId`.
    fn xbars(&mut self) -> &mut Vec<GpuXbar>;
    /// Records one dispatch of `k` (see `GpuBackend::dispatch`).
    fn dispatch<P: Pod>(
        &mut self,
        k: &Kernel,
        constants: &[(&'static str, f64)],
        params: &P,
        bufs: &[Buf],
        groups: [u32; 3],
    );
    /// Writes `words` into `buf` from word `at`, ordered before the next submission.
    fn write_words(&mut self, buf: Buf, at: usize, words: &[u32]);
    /// Bytes of workgroup memory one workgroup may use.
    fn workgroup_storage(&self) -> u32;
    /// The read's tile for `rows` input rows per instance.
    fn read_tile(&self, rows: u32) -> ReadTile;
}
