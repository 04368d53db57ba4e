//! Twins of `shaders/sgd.wgsl`, `shaders/gather.wgsl` and `shaders/fill.wgsl`.

use crate::backend::{FillParams, GatherParams, SgdParams};

pub fn sgd(w: &mut [f32], v: &mut [f32], g: &[f32], lr: &[f32], p: &SgdParams) {
    for i in 0..p.count as usize {
        let j = p.off as usize + i;
        let d = g[j] + p.weight_decay * w[j];
        let vel = p.momentum * v[j] + d;
        v[j] = vel;
        let step = if p.nesterov != 0 {
            d + p.momentum * vel
        } else {
            vel
        };
        w[j] -= lr[i / p.n as usize] * step;
    }
}

pub fn gather(
    images: &[f32],
    perm: &[u32],
    labels: &[u32],
    x: &mut [f32],
    y: &mut [u32],
    p: &GatherParams,
) {
    let f = p.features as usize;
    for r in 0..p.rows as usize {
        let src = perm[p.start as usize + r] as usize;
        x[r * f..(r + 1) * f].copy_from_slice(&images[src * f..(src + 1) * f]);
        y[r] = labels[src];
    }
}

pub fn fill(buf: &mut [f32], p: &FillParams) {
    buf[p.off as usize..(p.off + p.count) as usize].fill(p.value);
}
