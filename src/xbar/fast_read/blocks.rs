//! The read in one parallel region: the samples are split into blocks once and each task runs
//! every pass of its block (digits, product, ADC epilogue, de-scaling) on its own thread, with
//! its buffers kept across reads. One fork/join per read instead of one per product and per
//! epilogue of every pass; the codes are the same (the epilogue's boundary check makes them
//! independent of how the product is blocked).

use std::cell::RefCell;

use rayon::prelude::*;

use super::super::read::Counters;
use super::{digit_rows, Plan, CHUNK_ELEMENTS};

/// A thread's buffers, reused across reads (every entry is written before it is read).
#[derive(Default)]
struct Scratch {
    dig: Vec<f32>,
    prod: Vec<f32>,
    acc: Vec<i64>,
    codes: Vec<u32>,
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

impl Plan<'_> {
    /// [`Plan::run`] without calibration: raw `[batch][outs]` and counters.
    pub(super) fn run_blocks(&self, batch: usize) -> (Vec<f64>, Counters) {
        let outs = self.geo.outs;
        let widest = self.np.max(self.geo.lines) * self.signs * self.geo.cycles;
        let max_block = (CHUNK_ELEMENTS / widest).max(1);
        // Twice the threads: on a shared machine a stolen block evens out a slow core.
        let tasks = (2 * rayon::current_num_threads())
            .min(batch)
            .max(batch.div_ceil(max_block))
            .max(1);
        let block = batch.div_ceil(tasks).max(1);
        let mut raw = vec![0f64; batch * outs];
        let counters = raw
            .par_chunks_mut(block * outs)
            .enumerate()
            .map(|(i, raw_b)| {
                // No rayon call inside, so no other task can borrow this thread's buffers.
                SCRATCH.with(|s| self.run_block(i * block, raw_b, &mut s.borrow_mut()))
            })
            .reduce(Counters::default, |mut a, b| {
                a += b;
                a
            });
        (raw, counters)
    }

    /// Every pass of the samples from `b0` that `raw` (`[sample][outs]`) holds, on this thread,
    /// a few samples at a time: each product is quantized while it is still in cache.
    fn run_block(&self, b0: usize, raw: &mut [f64], s: &mut Scratch) -> Counters {
        let geo = &self.geo;
        let (lines, outs, np) = (geo.lines, geo.outs, self.np);
        let nb = raw.len() / outs;
        let rows_per_b = self.signs * geo.cycles;
        let per_b = rows_per_b * lines;
        let noisy = self.knobs.read_noise > 0.0;
        let step = (CACHED_PRODUCT / (rows_per_b * np).max(1))
            .max(MIN_ROWS.div_ceil(rows_per_b))
            .min(nb.max(1));
        let mut counters = Counters::default();
        s.codes.resize(lines, 0);
        s.dig.resize(step * per_b, 0.0);
        s.prod
            .resize(if noisy { 0 } else { step * rows_per_b * np }, 0.0);
        s.acc.resize(step * self.signs * outs, 0);
        let mut bufs = self.epilogue_buffers();
        for i0 in (0..nb).step_by(step) {
            let n = step.min(nb - i0);
            let dig = &mut s.dig[..n * per_b];
            for (i, rows) in dig.chunks_mut(per_b).enumerate() {
                let b = b0 + i0 + i;
                let x = &self.x[b * lines..(b + 1) * lines];
                counters.active_rows +=
                    digit_rows(x, self.x_max, self.signs, geo, &mut s.codes, rows);
            }
            let m = n * rows_per_b;
            let prod = &mut s.prod[..if noisy { 0 } else { m * np }];
            let acc = &mut s.acc[..n * self.signs * outs];
            acc.fill(0);
            for (gp, &(g, p, lo, hi)) in self.passes.iter().enumerate() {
                if !noisy {
                    // SAFETY: D is m x lines (row-major) from column lo, G is (hi - lo) x np
                    // with element (l, j) at eff[j * lines + lo + l], C is m x np; all in
                    // bounds.
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
