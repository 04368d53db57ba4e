//! Twin of `shaders/gather.wgsl`.

use crate::backend::GatherParams;

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
