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
            let out = &mut c[bc + i * ldc..bc + i * ldc + n];
            for (o, r) in out.iter_mut().zip(&row) {
                let mut v = q.alpha * r;
                if q.beta != 0.0 {
                    v += q.beta * *o;
                }
                *o = v;
            }
        }
    }
}
