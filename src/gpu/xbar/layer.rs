//! One crossbar layer of P instances resident on the GPU: its buffers and host-side counts.

use crate::backend::Buf;
use crate::xbar::{LayerCells, Xbar};

/// One crossbar layer of P instances on the GPU.
pub struct GpuXbar {
    pub(super) cfg: Xbar,
    /// The instances' metadata (shapes, scale, ADC ranges); cell vectors are left empty.
    pub(super) meta: Vec<LayerCells>,
    pub(super) total: usize,
    pub(super) cells: Buf,
    pub(super) frozen: Buf,
    pub(super) curves: Buf,
    /// `[P][total]` frozen drift deviates (per-cell drift only; else one unused word).
    pub(super) drift_z: Buf,
    pub(super) eff_f: Buf,
    pub(super) eff_b: Buf,
    pub(super) inst: Buf,
    pub(super) state: Buf,
    pub(super) xmax: Buf,
    pub(super) rowmax: Buf,
    /// `minmax` ADC: `[P][mm_tensors][2]` observed (min, max) per tensor of the current read.
    pub(super) mm: Buf,
    pub(super) mm_tensors: usize,
    /// Shift-add accumulators carried between the dispatches of one read, `carry_len` words.
    pub(super) carry: Buf,
    pub(super) carry_len: usize,
    /// Calibration histograms `[P][backend::calibration::HIST_STRIDE]`, made on first use.
    pub(super) hist: Option<Buf>,
    /// Some instance draws per-cell read noise / per-conversion noise (costlier read steps).
    pub(super) cell_draws: bool,
    pub(super) conversion_draws: usize,
    pub(super) ring_next: u32,
    pub(super) vectors_forward: u64,
    pub(super) vectors_transposed: u64,
    pub(super) updates: u64,
}

impl GpuXbar {
    pub(super) fn sets(&self) -> usize {
        self.meta[0].sets()
    }

    pub(super) fn n_inst(&self) -> usize {
        self.meta.len()
    }
}
