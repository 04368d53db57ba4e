//! Twin of `shaders/pool.wgsl`.

use rayon::prelude::*;

use crate::backend::PoolParams;

/// Outputs per `rayon` task: each is independent, the split only amortizes the fork.
const MIN_TASK: usize = 1 << 12;

/// Index in `x` of the window's maximum (first on ties).
fn argmax(x: &[f32], p: &PoolParams, plane: usize, oy: usize, ox: usize) -> usize {
    let (h, w, kh, kw) = (p.h as usize, p.w as usize, p.kh as usize, p.kw as usize);
    let mut best = plane * h * w + oy * kh * w + ox * kw;
    for i in 0..kh {
        for j in 0..kw {
            let idx = plane * h * w + (oy * kh + i) * w + ox * kw + j;
            if x[idx] > x[best] {
                best = idx;
            }
        }
    }
    best
}

pub fn forward(x: &[f32], y: &mut [f32], p: &PoolParams) {
    let (h, w, kh, kw) = (p.h as usize, p.w as usize, p.kh as usize, p.kw as usize);
    let (oh, ow) = (p.oh as usize, p.ow as usize);
    let count = (p.count as usize).min(y.len());
    y[..count]
        .par_iter_mut()
        .with_min_len(MIN_TASK)
        .enumerate()
        .for_each(|(o, out)| {
            let (ox, oy, plane) = (o % ow, (o / ow) % oh, o / (ow * oh));
            *out = if p.op == 0 {
                x[argmax(x, p, plane, oy, ox)]
            } else {
                let mut s = 0f32;
                for i in 0..kh {
                    for j in 0..kw {
                        s += x[plane * h * w + (oy * kh + i) * w + ox * kw + j];
                    }
                }
                s / (kh * kw) as f32
            };
        });
}

pub fn backward(x: &[f32], dy: &[f32], dx: &mut [f32], p: &PoolParams) {
    let (h, w, kh, kw) = (p.h as usize, p.w as usize, p.kh as usize, p.kw as usize);
    let (oh, ow) = (p.oh as usize, p.ow as usize);
    let count = (p.count as usize).min(dx.len());
    dx[..count]
        .par_iter_mut()
        .with_min_len(MIN_TASK)
        .enumerate()
        .for_each(|(i, out)| {
            let (xx, y, plane) = (i % w, (i / w) % h, i / (w * h));
            let (oy, ox) = (y / kh, xx / kw);
            *out = if oy < oh && ox < ow {
                let o = (plane * oh + oy) * ow + ox;
                if p.op == 0 {
                    if argmax(x, p, plane, oy, ox) == i {
                        dy[o]
                    } else {
                        0.0
                    }
                } else {
                    dy[o] / (kh * kw) as f32
                }
            } else {
                0.0
            };
        });
}
