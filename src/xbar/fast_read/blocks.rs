//! The read in one parallel region: the samples are split into blocks once and each task runs
//! every pass of its block (digits, product, ADC epilogue, de-scaling) on its own thread, with
//! its buffers kept across reads. One fork/join per read instead of one per product and per
//! epilogue of every pass; the codes are the same (the epilogue's boundary check makes them
//! independent of how the product is blocked). A calibrating read runs the same blocks and steps
//! twice (`calibrated_read`): first the products, kept, then the epilogue on them.

use std::cell::RefCell;

use rayon::prelude::*;

use super::super::counters::Counters;
use super::pool::RAW;
use super::{digit_rows, Panels, Plan, CHUNK_ELEMENTS};

/// A thread's buffers, reused across reads (every entry is written before it is read).
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) dig: Vec<f32>,
    prod: Vec<f32>,
    acc: Vec<i64>,
    pub(super) codes: Vec<u32>,
}

/// Products of one step of a task (f32 values, 128 KiB): small enough to stay in the core's
/// cache between the GEMM that writes them and the epilogue that reads them.
const CACHED_PRODUCT: usize = 1 << 15;

/// Rows of a step's product at least: each GEMM packs the pass's conductances, a cost that
/// these rows share.
const MIN_ROWS: usize = 256;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's read buffers. `f` must make no `rayon` call: a task stolen
/// while it waited could borrow the same buffers.
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| f(&mut s.borrow_mut()))
}

impl Plan<'_> {
    /// Samples per task of a read of `batch`: about two tasks per thread, each at most
    /// `CHUNK_ELEMENTS` wide.
    pub(super) fn block_samples(&self, batch: usize) -> usize {
        let widest = self.np.max(self.geo.lines) * self.signs * self.geo.cycles;
        let max_block = (CHUNK_ELEMENTS / widest).max(1);
        // Twice the threads: on a shared machine a stolen block evens out a slow core.
        let tasks = (2 * rayon::current_num_threads())
            .min(batch)
            .max(batch.div_ceil(max_block))
            .max(1);
        batch.div_ceil(tasks).max(1)
    }

    /// Samples per step of a task of `nb` samples: a product of about `CACHED_PRODUCT` values,
    /// at least `MIN_ROWS` rows.
    pub(super) fn step_samples(&self, nb: usize) -> usize {
        let rows_per_b = self.signs * self.geo.cycles;
        (CACHED_PRODUCT / (rows_per_b * self.np).max(1))
            .max(MIN_ROWS.div_ceil(rows_per_b))
            .min(nb.max(1))
    }

    /// [`Plan::run`] without calibration: raw `[batch][outs]` and counters. `kept`: the
    /// block size and the products of every block (`Plan::keep_block`), read instead of
    /// computed.
    pub(super) fn run_blocks(
        &self,
        batch: usize,
        kept: Option<(usize, &[&[f32]])>,
    ) -> (Vec<f64>, Counters) {
        let outs = self.geo.outs;
        if kept.is_none() && self.knobs.read_noise == 0.0 {
            self.pack_panels();
        }
        let block = kept.map_or_else(|| self.block_samples(batch), |(b, _)| b);
        // A kept buffer: `descale` adds into it.
        let mut raw = RAW.take(batch * outs);
        raw.fill(0.0);
        let counters = raw
            .par_chunks_mut(block * outs)
            .enumerate()
            .map(|(i, raw_b)| {
                let slab = kept.map(|(_, k)| k[i]);
                with_scratch(|s| self.run_block(i * block, raw_b, s, slab))
            })
            .reduce(Counters::default, |mut a, b| {
                a += b;
                a
            });
        (raw, counters)
    }

    /// The digits of samples `b0..b0 + n` into `dig` (`[sample][sign][t][line]`); their
    /// nonzero count.
    pub(super) fn block_digits(
        &self,
        b0: usize,
        n: usize,
        codes: &mut Vec<u32>,
        dig: &mut [f32],
    ) -> u64 {
        let lines = self.geo.lines;
        let per_b = self.signs * self.geo.cycles * lines;
        codes.resize(lines, 0);
        let mut active = 0;
        for (i, rows) in dig[..n * per_b].chunks_mut(per_b).enumerate() {
            let b = b0 + i;
            let x = &self.x[b * lines..(b + 1) * lines];
            active += digit_rows(x, self.x_max, self.signs, &self.geo, codes, rows);
        }
        active
    }

    /// Packs the conductances for the panel kernel where the CPU has it (once per plan; call
    /// outside parallel tasks: the packing is parallel).
    pub(super) fn pack_panels(&self) {
        self.panels.get_or_init(|| {
            let passes: Vec<_> = self.passes.iter().map(|p| (p.2, p.3)).collect();
            Panels::new(self.eff, self.geo.lines, self.np, &passes)
        });
    }

    /// The product of pass `gp` (lines `lo..hi`) of the `m` digit rows `dig` into `prod`
    /// (`m x np`), on this thread: on the packed panels where `Plan::pack_panels` made them,
    /// else on `matrixmultiply` (the same values).
    pub(super) fn step_product(
        &self,
        gp: usize,
        dig: &[f32],
        m: usize,
        (lo, hi): (usize, usize),
        prod: &mut [f32],
    ) {
        let (lines, np) = (self.geo.lines, self.np);
        if let Some(Some(panels)) = self.panels.get() {
            panels.product(gp, dig, lines, (lo, hi), m, prod);
            return;
        }
        assert!(dig.len() >= m * lines && prod.len() >= m * np && hi <= lines);
        assert!(self.eff.len() >= np * lines);
        // SAFETY: D is m x lines (row-major) from column lo, G is (hi - lo) x np with element
        // (l, j) at eff[j * lines + lo + l], C is m x np; the asserts bound all three.
        unsafe {
            matrixmultiply::sgemm(
                m,
                hi - lo,
                np,
                1.0,
                dig.as_ptr().add(lo),
                lines as isize,
                1,
                self.eff.as_ptr().add(lo),
                1,
                lines as isize,
                0.0,
                prod.as_mut_ptr(),
                np as isize,
                1,
            );
        }
    }

    /// Every pass of the samples from `b0` that `raw` (`[sample][outs]`) holds, on this thread,
    /// a few samples at a time: each product is quantized while it is still in cache. `kept`:
    /// the block's products in the order `Plan::keep_block` writes them.
    fn run_block(
        &self,
        b0: usize,
        raw: &mut [f64],
        s: &mut Scratch,
        kept: Option<&[f32]>,
    ) -> Counters {
        let geo = &self.geo;
        let (lines, outs, np) = (geo.lines, geo.outs, self.np);
        let nb = raw.len() / outs;
        let rows_per_b = self.signs * geo.cycles;
        let per_b = rows_per_b * lines;
        let noisy = self.knobs.read_noise > 0.0;
        let computes = !noisy && kept.is_none();
        let step = self.step_samples(nb);
        let mut counters = Counters::default();
        s.dig.resize(step * per_b, 0.0);
        s.prod
            .resize(if computes { step * rows_per_b * np } else { 0 }, 0.0);
        s.acc.resize(step * self.signs * outs, 0);
        let mut bufs = self.epilogue_buffers();
        for i0 in (0..nb).step_by(step) {
            let n = step.min(nb - i0);
            counters.active_rows += self.block_digits(b0 + i0, n, &mut s.codes, &mut s.dig);
            let dig = &s.dig[..n * per_b];
            let m = n * rows_per_b;
            let acc = &mut s.acc[..n * self.signs * outs];
            acc.fill(0);
            for (gp, &(g, p, lo, hi)) in self.passes.iter().enumerate() {
                let prod: &[f32] = match kept {
                    _ if noisy => &[],
                    Some(k) => {
                        let at = (i0 * self.passes.len() + gp * n) * rows_per_b * np;
                        &k[at..at + m * np]
                    }
                    None => {
                        let prod = &mut s.prod[..m * np];
                        self.step_product(gp, dig, m, (lo, hi), prod);
                        prod
                    }
                };
                for (i, acc_b) in acc.chunks_mut(self.signs * outs).enumerate() {
                    let prod_b = if noisy {
                        &[][..]
                    } else {
                        &prod[i * rows_per_b * np..(i + 1) * rows_per_b * np]
                    };
                    let dig_b = &dig[i * per_b..(i + 1) * per_b];
                    let pass = (gp, g, p, lo, hi);
                    self.epilogue(
                        pass,
                        b0 + i0 + i,
                        prod_b,
                        dig_b,
                        acc_b,
                        &mut counters,
                        None,
                        &mut bufs,
                    );
                }
            }
            self.descale(0, acc, &mut raw[i0 * outs..(i0 + n) * outs]);
        }
        counters
    }
}
