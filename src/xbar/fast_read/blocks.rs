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

    /// Every pass of the samples from `b0` that `raw` (`[sample][outs]`) holds, on this thread.
    fn run_block(&self, b0: usize, raw: &mut [f64], s: &mut Scratch) -> Counters {
        let geo = &self.geo;
        let (lines, outs, np) = (geo.lines, geo.outs, self.np);
        let nb = raw.len() / outs;
        let rows_per_b = self.signs * geo.cycles;
        let per_b = rows_per_b * lines;
        let noisy = self.knobs.read_noise > 0.0;
        let mut counters = Counters::default();
        s.codes.resize(lines, 0);
        s.dig.resize(nb * per_b, 0.0);
        let dig = &mut s.dig[..nb * per_b];
        for (i, rows) in dig.chunks_mut(per_b).enumerate() {
            let x = &self.x[(b0 + i) * lines..(b0 + i + 1) * lines];
            counters.active_rows += digit_rows(x, self.x_max, self.signs, geo, &mut s.codes, rows);
        }
        let m = nb * rows_per_b;
        if !noisy {
            s.prod.resize(m * np, 0.0);
        }
        let prod = if noisy {
            &mut [][..]
        } else {
            &mut s.prod[..m * np]
        };
        s.acc.clear();
        s.acc.resize(nb * self.signs * outs, 0);
        let mut bufs = self.epilogue_buffers();
        for (gp, &(g, p, lo, hi)) in self.passes.iter().enumerate() {
            if !noisy {
                // SAFETY: D is m x lines (row-major) from column lo, G is (hi - lo) x np with
                // element (l, j) at eff[j * lines + lo + l], C is m x np; all in bounds.
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
            for (i, acc_b) in s.acc.chunks_mut(self.signs * outs).enumerate() {
                let prod_b = if noisy {
                    &[][..]
                } else {
                    &prod[i * rows_per_b * np..(i + 1) * rows_per_b * np]
                };
                let dig_b = &dig[i * per_b..(i + 1) * per_b];
                let pass = (gp, g, p, lo, hi);
                self.epilogue(
                    pass,
                    b0 + i,
                    prod_b,
                    dig_b,
                    acc_b,
                    &mut counters,
                    None,
                    &mut bufs,
                );
            }
        }
        self.descale(0, &s.acc, raw);
        counters
    }
}
