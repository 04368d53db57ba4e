//! Twin of `shaders/gemm.wgsl`.

use crate::backend::Gemm;

/// `C[p] = alpha op(A[p]) op(B[p]) + beta C[p]` for every instance p, sums in k order.
pub fn gemm(a: &[f32], b: &[f32], c: &mut [f32], g: &Gemm) {
    let q = &g.params;
    let (m, n, k) = (q.m as usize, q.n as usize, q.k as usize);
    let (lda, ldb, ldc) = (q.lda as usize, q.ldb as usize, q.ldc as usize);
    let mut row = vec![0f32; n];
    for p in 0..g.batch as usize {
        let ba = q.off_a as usize + p * q.stride_a as usize;
        let bb = q.off_b as usize + p * q.stride_b as usize;
        let bc = q.off_c as usize + p * q.stride_c as usize;
        for i in 0..m {
            if g.trans_b && !g.trans_a {
                // Both operands run along k: contiguous dot products, still summed in k order.
                let arow = &a[ba + i * lda..ba + i * lda + k];
                for (j, r) in row.iter_mut().enumerate() {
                    let brow = &b[bb + j * ldb..bb + j * ldb + k];
                    *r = arow
                        .iter()
                        .zip(brow)
                        .fold(0f32, |acc, (x, y)| x.mul_add(*y, acc));
                }
                store(
                    &mut c[bc + i * ldc..bc + i * ldc + n],
                    &row,
                    q.alpha,
                    q.beta,
                );
                continue;
            }
            row.iter_mut().for_each(|v| *v = 0.0);
            for kk in 0..k {
                let av = if g.trans_a {
                    a[ba + kk * lda + i]
                } else {
                    a[ba + i * lda + kk]
                };
                if av == 0.0 {
                    continue;
                }
                if g.trans_b {
                    for (j, r) in row.iter_mut().enumerate() {
                        *r = av.mul_add(b[bb + j * ldb + kk], *r);
                    }
                } else {
                    let brow = &b[bb + kk * ldb..bb + kk * ldb + n];
                    for (r, bv) in row.iter_mut().zip(brow) {
                        *r = av.mul_add(*bv, *r);
                    }
                }
            }
            store(
                &mut c[bc + i * ldc..bc + i * ldc + n],
                &row,
                q.alpha,
                q.beta,
            );
        }
    }
}

/// out = alpha row + beta out (beta = 0 never reads out).
fn store(out: &mut [f32], row: &[f32], alpha: f32, beta: f32) {
    for (o, r) in out.iter_mut().zip(row) {
        let mut v = alpha * r;
        if beta != 0.0 {
            v += beta * *o;
        }
        *o = v;
    }
}
