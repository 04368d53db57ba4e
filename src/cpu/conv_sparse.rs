//! Twins of `shaders/conv_sparse.wgsl`.

use crate::backend::SparseParams;

/// WGSL's `sign`: 0 at 0.
fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

pub fn l1_grad(g: &mut [f32], w: &[f32], p: &SparseParams) {
    for i in 0..p.count as usize {
        g[i] += p.lambda * sign(w[i]);
    }
}

pub fn mask(w: &mut [f32], m: &[f32], p: &SparseParams) {
    for i in 0..p.count as usize {
        w[i] *= m[i];
    }
}
