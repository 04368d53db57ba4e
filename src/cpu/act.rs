//! Twins of `shaders/act.wgsl`.

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

fn each(p: &ActParams, mut f: impl FnMut(usize, usize, usize)) {
    let (rows, cols) = (p.rows as usize, p.cols as usize);
    let per = rows * cols;
    for i in 0..p.count as usize {
        f(i / per, (i % per) / cols, i % cols);
    }
}

pub fn bias_act(x: &mut [f32], bias: &[f32], p: &ActParams) {
    each(p, |inst, r, c| {
        let idx = (p.off0 + inst as u32 * p.stride0 + r as u32 * p.ld0) as usize + c;
        let b = bias[(p.off1 + inst as u32 * p.stride1) as usize + c];
        x[idx] = activate(p.act, x[idx] + b);
    });
}

pub fn act_backward(d: &mut [f32], h: &[f32], p: &ActParams) {
    each(p, |inst, r, c| {
        let idx = (p.off0 + inst as u32 * p.stride0 + r as u32 * p.ld0) as usize + c;
        let hi = (p.off1 + inst as u32 * p.stride1 + r as u32 * p.ld1) as usize + c;
        d[idx] *= derivative(p.act, h[hi]);
    });
}

pub fn bias_grad(g: &mut [f32], d: &[f32], p: &ActParams) {
    let cols = p.cols as usize;
    for i in 0..p.count as usize {
        let (inst, c) = ((i / cols) as u32, i % cols);
        let mut s = 0f32;
        for r in 0..p.rows {
            s += d[(p.off1 + inst * p.stride1 + r * p.ld1) as usize + c];
        }
        g[(p.off0 + inst * p.stride0) as usize + c] = s;
    }
}
