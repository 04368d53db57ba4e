//! Twins of `shaders/im2col.wgsl` and `shaders/im2col_permute.wgsl`.

use crate::backend::{Im2colParams, PermuteParams};

pub fn im2col(x: &[f32], cols: &mut [f32], p: &Im2colParams) {
    let npix = (p.batch * p.oh * p.ow) as usize;
    let k = p.k as usize;
    for (i, out) in cols.iter_mut().enumerate().take(p.count as usize) {
        let (row, col) = (i / npix, i % npix);
        let (kx, ky, c) = (row % k, (row / k) % k, row / (k * k));
        let b = col / (p.oh * p.ow) as usize;
        let ox = col % p.ow as usize;
        let oy = (col / p.ow as usize) % p.oh as usize;
        let y = (oy * p.stride as usize + ky) as i64 - p.pad as i64;
        let xx = (ox * p.stride as usize + kx) as i64 - p.pad as i64;
        *out = if y >= 0 && xx >= 0 && y < p.h as i64 && xx < p.w as i64 {
            x[b * p.sb as usize + c * p.sc as usize + y as usize * p.w as usize + xx as usize]
        } else {
            0.0
        };
    }
}

pub fn col2im(cols: &[f32], x: &mut [f32], p: &Im2colParams) {
    let (h, w, c_n) = (p.h as usize, p.w as usize, p.c as usize);
    let (k, s, pad) = (p.k as usize, p.stride as usize, p.pad as usize);
    let (oh, ow) = (p.oh as usize, p.ow as usize);
    let npix = p.batch as usize * oh * ow;
    for i in 0..p.count as usize {
        let (xx, y, c, b) = (i % w, (i / w) % h, (i / (w * h)) % c_n, i / (w * h * c_n));
        let mut sum = 0f32;
        for ky in 0..k {
            let ty = (y + pad) as i64 - ky as i64;
            if ty < 0 || !(ty as usize).is_multiple_of(s) || ty as usize / s >= oh {
                continue;
            }
            let oy = ty as usize / s;
            for kx in 0..k {
                let tx = (xx + pad) as i64 - kx as i64;
                if tx < 0 || !(tx as usize).is_multiple_of(s) || tx as usize / s >= ow {
                    continue;
                }
                let ox = tx as usize / s;
                let row = (c * k + ky) * k + kx;
                sum += cols[row * npix + (b * oh + oy) * ow + ox];
            }
        }
        x[b * p.sb as usize + c * p.sc as usize + y * w + xx] = sum;
    }
}

pub fn permute(x: &[f32], y: &mut [f32], p: &PermuteParams) {
    let (a, b, s) = (p.a as usize, p.b as usize, p.s as usize);
    for (o, out) in y.iter_mut().enumerate().take(p.count as usize) {
        let (t, i, j) = (o % s, (o / s) % a, o / (s * a));
        *out = x[(i * b + j) * s + t];
    }
}
