//! The read's product on AVX-512 with the conductances packed once per read.
//!
//! `matrixmultiply` packs both operands on every call, and a read makes one call per pass and
//! per cache-sized step, so the same conductances were packed hundreds of times per read; its
//! 16 x 16 kernel also loads once per multiply-add (17 loads for 16 FMAs), which caps it at
//! half the FMA rate. Here each pass's conductances are packed once into panels of 32 columns
//! (`[line][32]`), the digits are read in place (a broadcast per row and line), and the kernel
//! takes 8 rows x 32 columns: 10 loads for 16 FMAs. Rows whose digits in the pass are all 0
//! (frequent in the high input cycles) are not computed: their products are +0.
//!
//! Every product is the chain `c = fma(d_l, g_l, c)` over the pass's lines in increasing order
//! from +0, which is what `matrixmultiply` computes for a pass of at most `KC` lines (its
//! kernel's order; longer passes it splits and adds, so those stay on `matrixmultiply`). The
//! values, and so the calibrated ranges, are bit-identical to the `matrixmultiply` path
//! (`tests/xbar/fast_read.rs`).

/// Longest pass the panels take: `matrixmultiply`'s depth block (`kc`) for f32.
pub const KC: usize = 256;

/// Columns of a full panel (two AVX-512 registers).
const NR: usize = 32;

/// Rows of the kernel.
const MR: usize = 8;

/// Digit rows per block of the loop: a block's digits (at most `KC` lines) and a panel stay
/// in L1 while the panels go by.
const ROWS_BLOCK: usize = 64;

/// The conductances of every pass packed in panels: pass `gp` from `offsets[gp]`, its panels
/// of `NR` columns one after another (`[line][NR]`, columns past `np` zero), the last one `NR`
/// or `NR / 2` wide.
pub struct Panels {
    data: Vec<f32>,
    offsets: Vec<usize>,
    np: usize,
    /// Columns of a pass's panels together (`np` rounded up to the panels' widths).
    padded: usize,
}

/// Whether the CPU runs the panel kernel.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Width of panel `q` of `np` columns.
fn width(np: usize, q: usize) -> usize {
    let left = np - q * NR;
    if left > NR / 2 {
        NR
    } else {
        NR / 2
    }
}

impl Panels {
    /// `eff` (`[column][line]`, `np` columns of `lines`, finite and non-negative as
    /// `Plan::new` checks) packed for the passes `(lo, hi)`; `None` where the CPU lacks
    /// AVX-512 or a pass is longer than `KC`.
    pub fn new(eff: &[f32], lines: usize, np: usize, passes: &[(usize, usize)]) -> Option<Panels> {
        use rayon::prelude::*;
        if !available() || passes.iter().any(|&(lo, hi)| hi - lo > KC || hi > lines) {
            return None;
        }
        assert!(eff.len() >= np * lines);
        let n_panels = np.div_ceil(NR);
        let padded = (0..n_panels).map(|q| width(np, q)).sum::<usize>();
        let mut offsets = Vec::with_capacity(passes.len());
        let mut total = 0;
        for &(lo, hi) in passes {
            offsets.push(total);
            total += (hi - lo) * padded;
        }
        let mut data = vec![0f32; total];
        // One task per pass and panel; each writes its own `[line][width]` block.
        let mut blocks = Vec::with_capacity(passes.len() * n_panels);
        let mut rest = &mut data[..];
        for &(lo, hi) in passes {
            for q in 0..n_panels {
                let w = width(np, q);
                let (block, tail) = rest.split_at_mut((hi - lo) * w);
                blocks.push((lo, q, w, block));
                rest = tail;
            }
        }
        blocks.into_par_iter().for_each(|(lo, q, w, block)| {
            let cols = (np - q * NR).min(w);
            for (l, row) in block.chunks_mut(w).enumerate() {
                for (jj, v) in row[..cols].iter_mut().enumerate() {
                    *v = eff[(q * NR + jj) * lines + lo + l];
                }
            }
        });
        Some(Panels {
            data,
            offsets,
            np,
            padded,
        })
    }

    /// `prod` (`m x np`, row-major) = the digits `dig` (`m` rows of `lines`, row-major) of
    /// lines `lo..hi` times pass `gp`'s conductances, on this thread.
    pub fn product(
        &self,
        gp: usize,
        dig: &[f32],
        lines: usize,
        (lo, hi): (usize, usize),
        m: usize,
        prod: &mut [f32],
    ) {
        let (np, k) = (self.np, hi - lo);
        assert!(m == 0 || dig.len() >= (m - 1) * lines + hi);
        assert!(prod.len() >= m * np && hi <= lines && k <= KC);
        let at = self.offsets[gp];
        let pass = &self.data[at..at + k * self.padded];
        if k == 0 {
            prod[..m * np].fill(0.0);
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            assert!(available());
            // SAFETY: AVX-512F is present; the asserts above bound every row, line and column
            // the kernels reach (rows past `m` are never read: their pointers repeat row r0).
            unsafe { self.product_avx512(pass, dig, lines, lo, k, m, prod) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (pass, dig, lo, prod);
            unreachable!("`Panels::new` needs AVX-512");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    unsafe fn product_avx512(
        &self,
        pass: &[f32],
        dig: &[f32],
        lines: usize,
        lo: usize,
        k: usize,
        m: usize,
        prod: &mut [f32],
    ) {
        let np = self.np;
        let n_panels = np.div_ceil(NR);
        // Rows whose digits are all +0 (the high cycles of small inputs, often) have +0
        // products (every term +0 · g = +0 for finite g >= 0): written, not computed.
        let mut live = Vec::with_capacity(m);
        for r in 0..m {
            let d = &dig[r * lines + lo..r * lines + lo + k];
            if d.iter().fold(0u32, |acc, v| acc | v.to_bits()) == 0 {
                prod[r * np..(r + 1) * np].fill(0.0);
            } else {
                live.push(r);
            }
        }
        for block in live.chunks(ROWS_BLOCK) {
            let mut panel_at = 0;
            for q in 0..n_panels {
                let w = width(np, q);
                let cols = (np - q * NR).min(w);
                let b = pass.as_ptr().add(panel_at);
                for group in block.chunks(MR) {
                    let rows = group.len();
                    // Lanes past `rows` repeat the last row: read, never written.
                    let row = |i: usize| group[i.min(rows - 1)];
                    let a: [*const f32; MR] =
                        std::array::from_fn(|i| dig.as_ptr().add(row(i) * lines + lo));
                    let c: [*mut f32; MR] =
                        std::array::from_fn(|i| prod.as_mut_ptr().add(row(i) * np + q * NR));
                    if w == NR {
                        kernel_8x32(k, a, b, c, rows, cols);
                    } else {
                        kernel_8x16(k, a, b, c, rows, cols);
                    }
                }
                panel_at += k * w;
            }
        }
    }
}

/// Mask of the first `n` (<= 16) lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn lanes(n: usize) -> u16 {
    if n >= 16 {
        u16::MAX
    } else {
        (1u16 << n) - 1
    }
}

/// `c[i][j] = sum_l a[i][l] b[l][j]` for 8 rows (`a[i]`, `k` lines each) and a 32-wide panel
/// `b` (`[l][32]`), the sum a chain of FMAs in increasing l from +0; rows `i < rows` (at
/// `c[i]`) and columns `< cols` are written.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_8x32(
    k: usize,
    a: [*const f32; MR],
    b: *const f32,
    c: [*mut f32; MR],
    rows: usize,
    cols: usize,
) {
    use std::arch::x86_64::*;
    let mut lo = [_mm512_setzero_ps(); MR];
    let mut hi = [_mm512_setzero_ps(); MR];
    for l in 0..k {
        let b0 = _mm512_loadu_ps(b.add(l * NR));
        let b1 = _mm512_loadu_ps(b.add(l * NR + 16));
        for ((lo, hi), a) in lo.iter_mut().zip(hi.iter_mut()).zip(&a) {
            let av = _mm512_set1_ps(*a.add(l));
            *lo = _mm512_fmadd_ps(av, b0, *lo);
            *hi = _mm512_fmadd_ps(av, b1, *hi);
        }
    }
    let (m0, m1) = (lanes(cols), lanes(cols.saturating_sub(16)));
    for ((lo, hi), &ci) in lo.iter().zip(&hi).zip(&c).take(rows) {
        // Masked lanes are neither written nor faulted on; the pointer may pass the end.
        _mm512_mask_storeu_ps(ci, m0, *lo);
        _mm512_mask_storeu_ps(ci.wrapping_add(16), m1, *hi);
    }
}

/// [`kernel_8x32`] for a 16-wide panel (`b` is `[l][16]`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_8x16(
    k: usize,
    a: [*const f32; MR],
    b: *const f32,
    c: [*mut f32; MR],
    rows: usize,
    cols: usize,
) {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_ps(); MR];
    for l in 0..k {
        let bv = _mm512_loadu_ps(b.add(l * 16));
        for (acc, a) in acc.iter_mut().zip(&a) {
            *acc = _mm512_fmadd_ps(_mm512_set1_ps(*a.add(l)), bv, *acc);
        }
    }
    let m0 = lanes(cols);
    for (v, &ci) in acc.iter().zip(&c).take(rows) {
        _mm512_mask_storeu_ps(ci, m0, *v);
    }
}
