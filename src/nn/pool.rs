//! Pooling parameters for the layer list's pooling tokens.

use crate::backend::{PoolOp, PoolParams};
use crate::nn::arch::PoolKind;

/// Output size of `kind` on an `h x w` map.
pub fn out_size(kind: PoolKind, h: usize, w: usize) -> (usize, usize) {
    match kind {
        PoolKind::Global => (1, 1),
        PoolKind::Max | PoolKind::Avg => (h / 2, w / 2),
    }
}

/// Kernel parameters pooling `planes` maps of `h x w`; `count` covers the outputs (forward).
pub fn params(kind: PoolKind, planes: usize, h: usize, w: usize) -> PoolParams {
    let (kh, kw, op) = match kind {
        PoolKind::Max => (2, 2, PoolOp::Max),
        PoolKind::Avg => (2, 2, PoolOp::Avg),
        PoolKind::Global => (h, w, PoolOp::Avg),
    };
    let (oh, ow) = out_size(kind, h, w);
    PoolParams {
        planes: planes as u32,
        h: h as u32,
        w: w as u32,
        kh: kh as u32,
        kw: kw as u32,
        oh: oh as u32,
        ow: ow as u32,
        op: op as u32,
        count: (planes * oh * ow) as u32,
        _pad: [0; 3],
    }
}

/// As [`params`] with `count` covering the inputs (backward).
pub fn backward_params(kind: PoolKind, planes: usize, h: usize, w: usize) -> PoolParams {
    PoolParams {
        count: (planes * h * w) as u32,
        ..params(kind, planes, h, w)
    }
}
