//! Twin of `shaders/loss.wgsl`.

use crate::backend::LossParams;

pub fn loss(y: &[f32], labels: &[u32], dy: &mut [f32], stats: &mut [f32], p: &LossParams) {
    let classes = p.classes as usize;
    for i in 0..p.count as usize {
        let (inst, r) = (i / p.rows as usize, i % p.rows as usize);
        let base = p.off_y as usize + inst * p.stride_y as usize + r * classes;
        let row = &y[base..base + classes];
        let label = labels[r] as usize;
        let mut best = 0;
        for c in 1..classes {
            if row[c] > row[best] {
                best = c;
            }
        }
        let top = row[best];
        let mut loss = 0f32;
        if p.kind == 0 {
            let sum: f32 = row.iter().map(|v| (v - top).exp()).sum();
            for c in 0..classes {
                let prob = (row[c] - top).exp() / sum;
                let target = if c == label { 1.0 } else { 0.0 };
                dy[base + c] = (prob - target) * p.scale;
            }
            loss = sum.ln() + top - row[label];
        } else {
            for c in 0..classes {
                let diff = row[c] - if c == label { 1.0 } else { 0.0 };
                loss += 0.5 * diff * diff;
                dy[base + c] = diff * p.scale;
            }
        }
        stats[2 * i] = loss;
        stats[2 * i + 1] = if best == label { 1.0 } else { 0.0 };
    }
}
