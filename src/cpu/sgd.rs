//! Twin of `shaders/sgd.wgsl`.

use rayon::prelude::*;

use crate::backend::SgdParams;

/// Elements per parallel piece of an update: large enough that splitting pays.
const PIECE: usize = 1 << 15;

pub fn sgd(w: &mut [f32], v: &mut [f32], g: &[f32], lr: &[f32], p: &SgdParams) {
    let (off, count, n) = (p.off as usize, p.count as usize, (p.n as usize).max(1));
    let (w, v, g) = (
        &mut w[off..off + count],
        &mut v[off..off + count],
        &g[off..off + count],
    );
    if count < 2 * PIECE {
        return sgd_span(w, v, g, lr, 0, n, p);
    }
    w.par_chunks_mut(PIECE)
        .zip(v.par_chunks_mut(PIECE))
        .zip(g.par_chunks(PIECE))
        .enumerate()
        .for_each(|(i, ((w, v), g))| sgd_span(w, v, g, lr, i * PIECE, n, p));
}

/// Elements [start, start + len) of the update, one learning rate (instance) at a time.
fn sgd_span(
    w: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    lr: &[f32],
    start: usize,
    n: usize,
    p: &SgdParams,
) {
    let (m, wd) = (p.momentum, p.weight_decay);
    let mut i = 0;
    while i < w.len() {
        let inst = (start + i) / n;
        let end = ((inst + 1) * n - start).min(w.len());
        let rate = lr[inst];
        let it = w[i..end].iter_mut().zip(&mut v[i..end]).zip(&g[i..end]);
        if p.nesterov != 0 {
            it.for_each(|((w, v), g)| {
                let d = g + wd * *w;
                let vel = m * *v + d;
                *v = vel;
                *w -= rate * (d + m * vel);
            });
        } else {
            it.for_each(|((w, v), g)| {
                let d = g + wd * *w;
                let vel = m * *v + d;
                *v = vel;
                *w -= rate * vel;
            });
        }
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel, per-instance-span update equals the element formula, including spans
    /// that straddle pieces and instances, and leaves elements outside [off, off + count).
    #[test]
    fn sgd_matches_the_element_formula() {
        for nesterov in [0, 1] {
            let (n, inst, off) = (40_001usize, 3usize, 7usize);
            let len = off + n * inst + 5;
            let f = |i: usize, s: f32| (i as f32 * s).sin() * 0.5;
            let (w0, v0, g) = (
                (0..len).map(|i| f(i, 0.37)).collect::<Vec<_>>(),
                (0..len).map(|i| f(i, 0.71)).collect::<Vec<_>>(),
                (0..len).map(|i| f(i, 1.13)).collect::<Vec<_>>(),
            );
            let lr = [0.1f32, 0.02, 0.3];
            let p = SgdParams {
                n: n as u32,
                count: (n * inst) as u32,
                off: off as u32,
                nesterov,
                momentum: 0.9,
                weight_decay: 1e-3,
                _pad1: [0.0; 2],
            };
            let (mut w, mut v) = (w0.clone(), v0.clone());
            sgd(&mut w, &mut v, &g, &lr, &p);
            for j in 0..len {
                if j < off || j >= off + n * inst {
                    assert_eq!((w[j], v[j]), (w0[j], v0[j]), "element {j} outside touched");
                    continue;
                }
                let d = g[j] + p.weight_decay * w0[j];
                let vel = p.momentum * v0[j] + d;
                let step = if nesterov != 0 {
                    d + p.momentum * vel
                } else {
                    vel
                };
                assert_eq!(v[j], vel, "velocity {j}");
                assert_eq!(w[j], w0[j] - lr[(j - off) / n] * step, "weight {j}");
            }
        }
    }
}
