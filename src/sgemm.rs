//! The strided single-precision matrix product every CPU path shares (the CPU backend's GEMM,
//! the crossbar read's products): `matrixmultiply`'s packed, cache-blocked SGEMM, whose
//! AVX2/FMA (x86) or NEON (ARM) micro-kernel is picked at run time, split into `rayon` tasks.
//! A bottom-layer module: it uses nothing else of the crate.

use rayon::prelude::*;

/// Products below this many multiply-adds run on the calling thread: a split costs more.
pub const PARALLEL_MACS: usize = 1 << 18;

/// Rows or columns of the smallest block (a multiple of every micro-kernel's tile side).
const BLOCK_ALIGN: usize = 16;

/// A raw pointer that may cross threads; the blocks it is offset into are disjoint.
#[derive(Clone, Copy)]
pub struct SendPtr<T>(pub T);
// SAFETY: only used for pointers into buffers that outlive the parallel call, with each task
// writing a disjoint block of C.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

/// One strided SGEMM `C = alpha A B + beta C` (A m x k, B k x n, C m x n; strides in elements),
/// split over `rayon` when large. Splits along n when A is the smaller operand (each task packs
/// all of A and its columns of B), else along m.
///
/// # Safety
/// Every element the strides address must lie inside live buffers, and C must alias neither A
/// nor B (as for `matrixmultiply::sgemm`).
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    (m, k, n): (usize, usize, usize),
    alpha: f32,
    (a, rsa, csa): (*const f32, isize, isize),
    (b, rsb, csb): (*const f32, isize, isize),
    beta: f32,
    (c, rsc, csc): (*mut f32, isize, isize),
) {
    let along_n = m <= n;
    let dim = if along_n { n } else { m };
    let threads = rayon::current_num_threads();
    let tasks = if m * n * k < PARALLEL_MACS || threads < 2 {
        1
    } else {
        // Twice the threads: on a shared machine a stolen block evens out a slow core.
        (2 * threads).min(dim / BLOCK_ALIGN).max(1)
    };
    if tasks == 1 {
        matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
        return;
    }
    let block = dim.div_ceil(tasks).next_multiple_of(BLOCK_ALIGN);
    let (a, b, c) = (SendPtr(a), SendPtr(b), SendPtr(c));
    (0..dim.div_ceil(block)).into_par_iter().for_each(|t| {
        let (lo, len) = (t * block, block.min(dim - t * block));
        let (a, b, c) = (a, b, c);
        // SAFETY: the caller's extents cover the whole product; each task takes its own
        // columns (rows) of B and C (A and C), so C blocks are disjoint.
        unsafe {
            if along_n {
                let (lo, len) = (lo as isize, len);
                matrixmultiply::sgemm(
                    m,
                    k,
                    len,
                    alpha,
                    a.0,
                    rsa,
                    csa,
                    b.0.offset(lo * csb),
                    rsb,
                    csb,
                    beta,
                    c.0.offset(lo * csc),
                    rsc,
                    csc,
                );
            } else {
                let lo = lo as isize;
                matrixmultiply::sgemm(
                    len,
                    k,
                    n,
                    alpha,
                    a.0.offset(lo * rsa),
                    rsa,
                    csa,
                    b.0,
                    rsb,
                    csb,
                    beta,
                    c.0.offset(lo * rsc),
                    rsc,
                    csc,
                );
            }
        }
    });
}
