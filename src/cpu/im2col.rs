//! Twins of `shaders/im2col.wgsl` and `shaders/im2col_permute.wgsl`.

use rayon::prelude::*;

use crate::backend::{Im2colParams, PermuteParams};

/// Rows `[c][ky][kx]` of `[batch][oh][ow]` unrolled positions, one row per `rayon` task
/// (padding reads 0).
pub fn im2col(x: &[f32], cols: &mut [f32], p: &Im2colParams) {
    let npix = (p.batch * p.oh * p.ow) as usize;
    let (k, stride, pad) = (p.k as usize, p.stride as usize, p.pad as usize);
    let (h, w, oh, ow) = (p.h as usize, p.w as usize, p.oh as usize, p.ow as usize);
    let count = (p.count as usize).min(cols.len());
    if npix == 0 {
        return;
    }
    cols[..count]
        .par_chunks_mut(npix)
        .enumerate()
        .for_each(|(row, out)| {
            let (kx, ky, c) = (row % k, (row / k) % k, row / (k * k));
            // Output columns ox whose input column ox * stride + kx - pad lies in [0, w).
            let ox_lo = pad.saturating_sub(kx).div_ceil(stride).min(ow);
            let ox_hi = (w + pad)
                .saturating_sub(kx)
                .div_ceil(stride)
                .clamp(ox_lo, ow);
            for (bo, line) in out.chunks_mut(ow).enumerate() {
                let (b, oy) = (bo / oh, bo % oh);
                let y = (oy * stride + ky) as i64 - pad as i64;
                if y < 0 || y >= h as i64 {
                    line.fill(0.0);
                    continue;
                }
                let base = b * p.sb as usize + c * p.sc as usize + y as usize * w;
                let len = line.len();
                line[..ox_lo.min(len)].fill(0.0);
                let hi = ox_hi.min(len);
                if stride == 1 && ox_lo < hi {
                    // Consecutive inputs: one copy.
                    let src = base + ox_lo + kx - pad;
                    line[ox_lo..hi].copy_from_slice(&x[src..src + hi - ox_lo]);
                } else {
                    for (ox, v) in line.iter_mut().enumerate().take(ox_hi).skip(ox_lo) {
                        *v = x[base + ox * stride + kx - pad];
                    }
                }
                if ox_hi < line.len() {
                    line[ox_hi..].fill(0.0);
                }
            }
        });
}

/// The sum over kernel taps of the unrolled rows back into images `[b][c][y][x]`, a
/// channel plane per `rayon` task where the planes lie back to back (each sum in the same
/// order either way).
pub fn col2im(cols: &[f32], x: &mut [f32], p: &Im2colParams) {
    let (h, w, c_n) = (p.h as usize, p.w as usize, p.c as usize);
    let plane = h * w;
    let count = p.count as usize;
    let dense = p.sc as usize == plane && p.sb as usize == c_n * plane;
    if dense && plane > 0 && count <= x.len() {
        x[..count]
            .par_chunks_mut(plane)
            .enumerate()
            .for_each(|(bc, out)| {
                for (j, v) in out.iter_mut().enumerate() {
                    *v = col2im_at(cols, p, bc * plane + j);
                }
            });
        return;
    }
    // Strided images: the sums in parallel, then placed row by row.
    let sums: Vec<f32> = (0..count)
        .into_par_iter()
        .with_min_len(1 << 12)
        .map(|i| col2im_at(cols, p, i))
        .collect();
    for (r, row) in sums.chunks(w.max(1)).enumerate() {
        let (y, c, b) = (r % h, (r / h) % c_n, r / (h * c_n));
        let at = b * p.sb as usize + c * p.sc as usize + y * w;
        x[at..at + row.len()].copy_from_slice(row);
    }
}

/// Input element `i` (`[b][c][y][x]`, dense) of `col2im`: its taps' sum.
#[inline]
fn col2im_at(cols: &[f32], p: &Im2colParams, i: usize) -> f32 {
    let (h, w, c_n) = (p.h as usize, p.w as usize, p.c as usize);
    let (k, s, pad) = (p.k as usize, p.stride as usize, p.pad as usize);
    let (oh, ow) = (p.oh as usize, p.ow as usize);
    let npix = p.batch as usize * oh * ow;
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
    sum
}

/// `y[p][b][a][s] = x[p][a][b][s]` (see `PermuteParams` for the source's offset, row and
/// instance strides), `BLOCK` values of b per `rayon` task: a task reads `BLOCK s`
/// consecutive values of each row a of `x`, so the transpose reads whole cache lines.
pub fn permute(x: &[f32], y: &mut [f32], p: &PermuteParams) {
    let (a, b, s) = (p.a as usize, p.b as usize, p.s as usize);
    let per = a * b * s;
    let count = (p.count as usize).min(y.len());
    if per == 0 {
        return;
    }
    for (inst, out) in y[..count].chunks_mut(per).enumerate() {
        let src = &x[p.off as usize + inst * p.stride as usize..];
        permute_one(src, out, a, b, s, p.row as usize);
    }
}

/// One instance: `out[j][i][t] = x[i row + j s + t]`.
fn permute_one(x: &[f32], out: &mut [f32], a: usize, b: usize, s: usize, row: usize) {
    const BLOCK: usize = 16;
    let dst_row = a * s;
    debug_assert!(out.len() <= a * b * s);
    out.par_chunks_mut(BLOCK * dst_row)
        .enumerate()
        .for_each(|(blk, out)| {
            let j0 = blk * BLOCK;
            if s == 1 {
                let nj = out.len().div_ceil(a);
                for i in 0..a {
                    for (jj, &v) in x[i * row + j0..].iter().take(nj).enumerate() {
                        if let Some(o) = out.get_mut(jj * a + i) {
                            *o = v;
                        }
                    }
                }
                return;
            }
            for i in 0..a {
                for (jj, out_j) in out.chunks_mut(dst_row).enumerate() {
                    let src = i * row + (j0 + jj) * s;
                    let len = out_j.len();
                    let dst = &mut out_j[(i * s).min(len)..((i + 1) * s).min(len)];
                    dst.copy_from_slice(&x[src..src + dst.len()]);
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::test_values::values;

    /// The kernels' definition, one output element at a time (the oracle).
    fn im2col_plain(x: &[f32], cols: &mut [f32], p: &Im2colParams) {
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

    #[test]
    fn im2col_equals_the_definition() {
        // (batch, c, h, w, k, stride, pad), odd sizes, strides and paddings wider than k.
        let shapes = [
            (2, 3, 7, 6, 3, 2, 1),
            (3, 2, 5, 9, 3, 1, 1),
            (1, 4, 8, 8, 1, 1, 0),
            (2, 1, 6, 5, 5, 3, 2),
            (1, 2, 4, 3, 3, 1, 4),
        ];
        for (seed, &(batch, c, h, w, k, stride, pad)) in shapes.iter().enumerate() {
            let (oh, ow) = (
                (h + 2 * pad - k) / stride + 1,
                (w + 2 * pad - k) / stride + 1,
            );
            let count = k * k * c * batch * oh * ow;
            let p = Im2colParams {
                batch,
                c,
                h,
                w,
                k,
                stride,
                pad,
                count,
                oh,
                ow,
                sb: c * h * w + 3,
                sc: h * w + 1,
            };
            let x = values((batch * p.sb) as usize, seed as u64);
            let mut want = vec![7.0; count as usize + 5];
            let mut got = want.clone();
            im2col_plain(&x, &mut want, &p);
            im2col(&x, &mut got, &p);
            assert_eq!(got, want, "shape {seed}");
        }
    }

    #[test]
    fn permute_equals_the_definition() {
        // (a, b, s, instances, off, extra row padding, instance stride: 0 shared or padded)
        let cases = [
            (5, 7, 33, 1, 0, 0, false),
            (27, 100, 1, 1, 0, 0, false),
            (3, 17, 2, 3, 0, 0, false),
            (1, 1, 1, 1, 0, 0, false),
            (40, 33, 1, 2, 5, 9, false),
            (6, 5, 3, 4, 2, 7, true),
            (9, 4, 1, 3, 1, 3, true),
        ];
        for (seed, &(a, b, s, np, off, pad, shared)) in cases.iter().enumerate() {
            let row = b * s + pad;
            let stride = if shared { 0 } else { a * row + 11 };
            let x = values(off + np * (a * row + 11) + a * row, seed as u64 + 9);
            let count = np * a * b * s;
            let p = PermuteParams::new(a, b, s)
                .instances(np, stride)
                .rows(off, row);
            let mut got = vec![7.0; count + 3];
            permute(&x, &mut got, &p);
            for (o, &v) in got[..count].iter().enumerate() {
                let (inst, q) = (o / (a * b * s), o % (a * b * s));
                let (t, i, j) = (q % s, (q / s) % a, q / (s * a));
                let want = x[off + inst * stride + i * row + j * s + t];
                assert_eq!(v, want, "case {seed} at {o}");
            }
            assert_eq!(&got[count..], &[7.0; 3], "case {seed}: past count");
        }
    }
}
