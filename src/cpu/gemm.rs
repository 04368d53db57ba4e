//! Twin of `shaders/gemm.wgsl`: the fast blocked kernel the CPU backend runs, and the plain
//! k-ordered [`reference`] the tests hold it to.
//!
//! The fast path is `matrixmultiply`'s packed, cache-blocked SGEMM: it picks its AVX2/FMA (x86)
//! or NEON (ARM) micro-kernel at run time, so the binary stays portable. Large products are
//! split into column (or row) blocks run as `rayon` tasks, one single-threaded SGEMM each: one
//! thread pool for the whole program, and every element's sum runs in the same order however
//! the product is split, so results do not depend on the number of threads. Sums run in a
//! blocked order, so results differ from the reference in the last bits only.

use rayon::prelude::*;

use crate::backend::Gemm;
pub use crate::sgemm::sgemm;
use crate::sgemm::{SendPtr, PARALLEL_MACS};

/// `C[p] = alpha op(A[p]) op(B[p]) + beta C[p]` for every instance p (beta = 0 never reads C).
///
/// Panics when an operand's extent runs past its buffer (a caller bug, as in the reference).
pub fn gemm(a: &[f32], b: &[f32], c: &mut [f32], g: &Gemm) {
    let q = &g.params;
    let (m, n, k) = (q.m as usize, q.n as usize, q.k as usize);
    if m == 0 || n == 0 {
        return;
    }
    let (lda, ldb, ldc) = (q.lda as isize, q.ldb as isize, q.ldc as isize);
    // Row and column strides of op(A) (m x k), op(B) (k x n) and C (m x n).
    let (rsa, csa) = if g.trans_a { (1, lda) } else { (lda, 1) };
    let (rsb, csb) = if g.trans_b { (1, ldb) } else { (ldb, 1) };
    let batch = g.batch as usize;
    let base = |p: usize| {
        (
            q.off_a as usize + p * q.stride_a as usize,
            q.off_b as usize + p * q.stride_b as usize,
            q.off_c as usize + p * q.stride_c as usize,
        )
    };
    for p in 0..batch {
        let (ba, bb, bc) = base(p);
        check(a.len(), ba, m, k, rsa, csa, "A");
        check(b.len(), bb, k, n, rsb, csb, "B");
        check(c.len(), bc, m, n, ldc, 1, "C");
    }
    // Instances run side by side only when their blocks of C are disjoint.
    let disjoint = q.stride_c as usize >= (m - 1) * ldc as usize + n;
    let (pa, pb, pc) = (
        SendPtr(a.as_ptr()),
        SendPtr(b.as_ptr()),
        SendPtr(c.as_mut_ptr()),
    );
    let one = |p: usize| {
        let (ba, bb, bc) = base(p);
        let (pa, pb, pc) = (pa, pb, pc);
        // SAFETY: `check` proved every element the strides address lies inside its slice;
        // `c` is a distinct &mut slice, so it aliases neither input; instances run
        // concurrently only when their blocks of C are disjoint.
        unsafe {
            sgemm(
                (m, k, n),
                q.alpha,
                (pa.0.add(ba), rsa, csa),
                (pb.0.add(bb), rsb, csb),
                q.beta,
                (pc.0.add(bc), ldc, 1),
            );
        }
    };
    if batch > 1 && disjoint && m * n * k * batch >= PARALLEL_MACS {
        (0..batch).into_par_iter().for_each(one);
    } else {
        (0..batch).for_each(one);
    }
}

/// Asserts that a `rows x cols` view at `base` with strides (`rs`, `cs`) fits in `len`.
fn check(len: usize, base: usize, rows: usize, cols: usize, rs: isize, cs: isize, what: &str) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = base + (rows - 1) * rs as usize + (cols - 1) * cs as usize;
    assert!(
        last < len,
        "gemm: operand {what} ({rows} x {cols}, strides {rs}/{cs}, offset {base}) \
         reaches element {last} of a {len}-element buffer"
    );
}

/// The oracle: every output a plain dot product summed in k order.
pub fn reference(a: &[f32], b: &[f32], c: &mut [f32], g: &Gemm) {
    let q = &g.params;
    let (m, n, k) = (q.m as usize, q.n as usize, q.k as usize);
    let (lda, ldb, ldc) = (q.lda as usize, q.ldb as usize, q.ldc as usize);
    for p in 0..g.batch as usize {
        let ba = q.off_a as usize + p * q.stride_a as usize;
        let bb = q.off_b as usize + p * q.stride_b as usize;
        let bc = q.off_c as usize + p * q.stride_c as usize;
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f32;
                for kk in 0..k {
                    let av = if g.trans_a {
                        a[ba + kk * lda + i]
                    } else {
                        a[ba + i * lda + kk]
                    };
                    let bv = if g.trans_b {
                        b[bb + j * ldb + kk]
                    } else {
                        b[bb + kk * ldb + j]
                    };
                    s = av.mul_add(bv, s);
                }
                let o = &mut c[bc + i * ldc + j];
                let mut v = q.alpha * s;
                if q.beta != 0.0 {
                    v += q.beta * *o;
                }
                *o = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::test_values::values;

    /// Runs both kernels on a padded, offset, batched problem; compares within a bound on
    /// reordered f32 sums (k ulps of the sum of |products|), and checks that the padding
    /// between rows is left untouched.
    #[allow(clippy::too_many_arguments)]
    fn compare(m: u32, n: u32, k: u32, ta: bool, tb: bool, batch: u32, beta: f32, seed: u64) {
        let mut g = Gemm::dense(m, n, k, ta, tb, batch);
        let q = &mut g.params;
        q.alpha = 0.75;
        q.beta = beta;
        q.lda += 3;
        q.ldb += 1;
        q.ldc = n + 2;
        q.off_a = 5;
        q.off_b = 2;
        q.off_c = 1;
        let (a_rows, b_rows) = (if ta { k } else { m }, if tb { n } else { k });
        q.stride_a = a_rows * q.lda + 1;
        q.stride_b = if seed.is_multiple_of(2) {
            0
        } else {
            b_rows * q.ldb
        }; // shared B when even
        q.stride_c = m * q.ldc + 3;
        let la = (q.off_a + batch * q.stride_a) as usize;
        let lb = (q.off_b + (batch - 1) * q.stride_b + b_rows * q.ldb) as usize;
        let lc = (q.off_c + batch * q.stride_c) as usize;
        let (a, b) = (values(la, seed), values(lb, seed + 1));
        let c0 = values(lc, seed + 2);
        let (mut fast, mut slow) = (c0.clone(), c0.clone());
        gemm(&a, &b, &mut fast, &g);
        reference(&a, &b, &mut slow, &g);
        let bound = (k as f32 + 2.0) * f32::EPSILON * 2.0;
        for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
            // |a|, |b|, |c| < 1: the sum of |terms| is at most alpha k + |beta|.
            let scale = 0.75 * k as f32 + beta.abs() + 1.0;
            assert!(
                (f - s).abs() <= bound * scale,
                "m{m} n{n} k{k} ta{ta} tb{tb} P{batch} beta{beta}: element {i}: {f} vs {s}"
            );
        }
        // Padding columns of C keep their values.
        for p in 0..batch {
            for i in 0..m {
                for j in n..n + 2 {
                    let idx =
                        (g.params.off_c + p * g.params.stride_c + i * g.params.ldc + j) as usize;
                    assert_eq!(fast[idx], c0[idx], "padding at {idx} written");
                }
            }
        }
    }

    #[test]
    fn fast_kernel_matches_the_oracle_on_awkward_shapes() {
        let shapes = [
            (1, 1, 1),
            (1, 17, 3),
            (7, 1, 33),
            (3, 5, 0),
            (13, 31, 17),
            (64, 65, 63),
            (65, 10, 784),
            (100, 129, 37),
            (257, 33, 129),
        ];
        let mut seed = 1;
        for (ta, tb) in [(false, true), (false, false), (true, false), (true, true)] {
            for &(m, n, k) in &shapes {
                for (batch, beta) in [(1, 0.0), (3, 0.5)] {
                    compare(m, n, k, ta, tb, batch, beta, seed);
                    seed += 1;
                }
            }
        }
    }

    #[test]
    fn large_products_match_the_oracle() {
        // Big enough for the threaded path and several cache blocks of k.
        compare(300, 270, 520, false, true, 1, 0.0, 11);
        compare(256, 784, 64, true, false, 1, 0.0, 12);
        compare(64, 256, 256, false, false, 2, 0.0, 13);
    }

    /// Split products (column blocks when m <= n, row blocks otherwise, and instances side by
    /// side) equal one unsplit SGEMM bit for bit: results do not depend on the threads.
    #[test]
    fn split_products_equal_one_unsplit_sgemm() {
        for (m, n, k, ta, tb, batch) in [
            (64, 256, 784, false, true, 1),
            (300, 70, 260, true, false, 1),
            (257, 513, 129, false, false, 3),
        ] {
            let g = Gemm::dense(m, n, k, ta, tb, batch);
            let (m, n, k) = (m as usize, n as usize, k as usize);
            let p = batch as usize;
            let (a, b) = (values(p * m * k, 21), values(p * k * n, 22));
            let mut split = vec![0.0; p * m * n];
            gemm(&a, &b, &mut split, &g);
            let mut whole = vec![0.0; p * m * n];
            let (rsa, csa) = if ta { (1, m as isize) } else { (k as isize, 1) };
            let (rsb, csb) = if tb { (1, k as isize) } else { (n as isize, 1) };
            for i in 0..p {
                // SAFETY: dense m x k, k x n and m x n operands of instance i, in bounds.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr().add(i * m * k),
                        rsa,
                        csa,
                        b.as_ptr().add(i * k * n),
                        rsb,
                        csb,
                        0.0,
                        whole.as_mut_ptr().add(i * m * n),
                        n as isize,
                        1,
                    );
                }
            }
            assert!(
                split
                    .iter()
                    .zip(&whole)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{m}x{n}x{k} ta{ta} tb{tb} P{p}: split product differs from the unsplit one"
            );
        }
    }

    #[test]
    fn beta_zero_ignores_nan_in_c() {
        let g = Gemm::dense(4, 5, 6, false, true, 1);
        let (a, b) = (values(24, 1), values(30, 2));
        let mut c = vec![f32::NAN; 20];
        gemm(&a, &b, &mut c, &g);
        assert!(c.iter().all(|v| v.is_finite()));
    }

    #[test]
    #[should_panic(expected = "operand B")]
    fn short_buffers_are_caught() {
        let g = Gemm::dense(4, 5, 6, false, true, 1);
        let mut c = vec![0.0; 20];
        gemm(&values(24, 1), &values(29, 2), &mut c, &g);
    }
}
