//! Twin of `shaders/metrics.wgsl`.

use crate::backend::AccumulateParams;

pub fn accumulate(stats: &[f32], acc: &mut [f32], p: &AccumulateParams) {
    let rows = p.rows as usize;
    for inst in 0..p.count as usize {
        let (mut l, mut c) = (0f32, 0f32);
        for r in 0..rows {
            l += stats[2 * (inst * rows + r)];
            c += stats[2 * (inst * rows + r) + 1];
        }
        acc[4 * inst] += l;
        acc[4 * inst + 1] += c;
        acc[4 * inst + 2] += rows as f32;
    }
}
