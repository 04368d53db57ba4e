//! Twins of `shaders/act.wgsl`.

use rayon::prelude::*;

use crate::backend::ActParams;

/// f(z) by activation code (see `Activation`).
pub fn activate(act: u32, z: f32) -> f32 {
    match act {
        1 => z.max(0.0),
        2 => z.tanh(),
        3 => 1.0 / (1.0 + (-z).exp()),
        _ => z,
    }
}

/// f'(z) from h = f(z).
pub fn derivative(act: u32, h: f32) -> f32 {
    match act {
        1 => {
            if h > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        2 => 1.0 - h * h,
        3 => h * (1.0 - h),
        _ => 1.0,
    }
}

/// Calls `f(instance, row, first column, length)` for the contiguous row pieces that cover
/// elements [0, count) of a `[P][rows][cols]` view, in element order.
fn segments(count: usize, rows: usize, cols: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
    if rows == 0 || cols == 0 {
        return;
    }
    let per = rows * cols;
    let mut i = 0;
    while i < count {
        let (inst, r, c) = (i / per, (i % per) / cols, i % cols);
        let len = (cols - c).min(count - i);
        f(inst, r, c, len);
        i += len;
    }
}

/// Elements per `rayon` task at least: each row is independent, the split only amortizes the
/// fork.
const MIN_TASK: usize = 1 << 14;

/// The rows `(instance, row, piece)` of `x`'s view in parallel where its rows lie back to back
/// (`ld0 = cols`, `stride0 = rows cols`), else one after another as `segments` gives them.
fn for_rows(x: &mut [f32], p: &ActParams, f: impl Fn(usize, usize, &mut [f32]) + Sync + Send) {
    let (rows, cols, count) = (p.rows as usize, p.cols as usize, p.count as usize);
    let off = p.off0 as usize;
    let packed = p.ld0 as usize == cols && p.stride0 as usize == rows * cols;
    if packed && rows > 0 && cols > 0 && off + count <= x.len() {
        x[off..off + count]
            .par_chunks_mut(cols)
            .with_min_len((MIN_TASK / cols).max(1))
            .enumerate()
            .for_each(|(q, row)| f(q / rows, q % rows, row));
        return;
    }
    segments(count, rows, cols, |inst, r, c, len| {
        let at = off + inst * p.stride0 as usize + r * p.ld0 as usize + c;
        debug_assert_eq!(c, 0, "pieces are whole rows from the first element");
        f(inst, r, &mut x[at..at + len]);
    });
}

/// `x = act(x + bias)` row by row; each activation's loop is branch-free so it vectorizes.
pub fn bias_act(x: &mut [f32], bias: &[f32], p: &ActParams) {
    for_rows(x, p, |inst, _, out| {
        let bat = p.off1 as usize + inst * p.stride1 as usize;
        let n = out.len();
        let row = out.iter_mut().zip(&bias[bat..bat + n]);
        match p.act {
            1 => row.for_each(|(v, b)| *v = (*v + b).max(0.0)),
            0 => row.for_each(|(v, b)| *v += b),
            a => row.for_each(|(v, b)| *v = activate(a, *v + b)),
        }
    });
}

/// `d *= f'(h)` row by row.
pub fn act_backward(d: &mut [f32], h: &[f32], p: &ActParams) {
    for_rows(d, p, |inst, r, out| {
        let hat = p.off1 as usize + inst * p.stride1 as usize + r * p.ld1 as usize;
        let n = out.len();
        let row = out.iter_mut().zip(&h[hat..hat + n]);
        match p.act {
            0 => {}
            1 => row.for_each(|(v, h)| *v *= if *h > 0.0 { 1.0 } else { 0.0 }),
            a => row.for_each(|(v, h)| *v *= derivative(a, *h)),
        }
    });
}

/// Column sums of each instance's `[rows][cols]` view, added in row order (as the shader does)
/// but a whole row at a time.
pub fn bias_grad(g: &mut [f32], d: &[f32], p: &ActParams) {
    let cols = p.cols as usize;
    segments(p.count as usize, 1, cols, |inst, _, c, len| {
        let at = p.off0 as usize + inst * p.stride0 as usize + c;
        let out = &mut g[at..at + len];
        out.fill(0.0);
        for r in 0..p.rows as usize {
            let src = p.off1 as usize + inst * p.stride1 as usize + r * p.ld1 as usize + c;
            out.iter_mut()
                .zip(&d[src..src + len])
                .for_each(|(o, v)| *o += v);
        }
    });
}
