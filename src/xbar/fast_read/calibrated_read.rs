//! A calibrating read in one pass: the GEMM products of every (chunk, pass) are kept, the
//! calibration percentile is taken from them, and the epilogue then runs on the same products
//! with the calibrated ADC, where a calibration read followed by a plain read would compute
//! every product twice. The chunks, products and epilogue are those of [`Plan::run`], so the
//! calibrated range and the read are the two-pass ones exactly.

use rayon::prelude::*;

use super::super::percentile;
use super::super::read::Counters;
use super::{Plan, Seen, CHUNK_ELEMENTS};

/// Products a calibrating read may keep (f32 values, 1 GiB); larger reads take two passes.
const KEPT_PRODUCTS: usize = 1 << 28;

/// The GEMM products of a read: `[chunk][pass]`, each `[rows of the chunk][columns x slices]`.
pub struct Products {
    chunk_b: usize,
    prods: Vec<Vec<f32>>,
}

impl Plan<'_> {
    /// Samples per chunk of a read of `batch` (the chunking of [`Plan::run`]).
    fn chunk_samples(&self, batch: usize) -> usize {
        let widest = self.np.max(self.geo.lines) * self.signs * self.geo.cycles;
        (CHUNK_ELEMENTS / widest).clamp(1, batch.max(1))
    }

    /// Whether a read of `batch` can keep its products: noise-free terms (with read noise the
    /// sums are taken term by term, without a GEMM), not `minmax`, and within the memory bound.
    pub fn keeps_products(&self, batch: usize) -> bool {
        let n = batch * self.signs * self.geo.cycles * self.passes.len() * self.np;
        self.knobs.read_noise == 0.0 && !self.minmax && n <= KEPT_PRODUCTS
    }

    /// The products of a read of `batch` (see [`Plan::keeps_products`]) and the data-column
    /// sums they hold, as [`Plan::run`] collects them for calibration: values and ids up to
    /// `percentile::EXACT_LIMIT` sums, else their histogram.
    pub fn products(&self, batch: usize) -> (Products, Seen) {
        let geo = &self.geo;
        let rows_per_b = self.signs * geo.cycles;
        let chunk_b = self.chunk_samples(batch);
        let mut prods = Vec::new();
        for b0 in (0..batch).step_by(chunk_b) {
            let b1 = (b0 + chunk_b).min(batch);
            let (dig, _) = self.digits(b0, b1);
            let m = (b1 - b0) * rows_per_b;
            for &(_, _, lo, hi) in &self.passes {
                let mut prod = vec![0f32; m * self.np];
                // SAFETY: as in `Plan::run`: D is m x lines (row-major) from column lo, G is
                // (hi - lo) x np with element (l, j) at eff[j * lines + lo + l], C is m x np.
                unsafe {
                    crate::sgemm::sgemm(
                        (m, hi - lo, self.np),
                        1.0,
                        (dig.as_ptr().add(lo), geo.lines as isize, 1),
                        (self.eff.as_ptr().add(lo), 1, geo.lines as isize),
                        0.0,
                        (prod.as_mut_ptr(), self.np as isize, 1),
                    );
                }
                prods.push(prod);
            }
        }
        let products = Products { chunk_b, prods };
        let seen = self.seen_in(&products, batch);
        (products, seen)
    }

    /// The data-column sums |I| (levels) of `products`.
    fn seen_in(&self, products: &Products, batch: usize) -> Seen {
        let n_data = self.n_data * self.geo.slices;
        let count = self.data_conversions(batch);
        let level = |i: f32| (i * self.inv_unit).abs();
        if count > percentile::EXACT_LIMIT {
            // Bin counts do not depend on the order the sums are binned in.
            let hist = products
                .prods
                .par_iter()
                .fold(
                    || vec![0u64; percentile::bins()],
                    |mut h, prod| {
                        for row in prod.chunks(self.np) {
                            for &i in &row[..n_data] {
                                h[percentile::bin(level(i))] += 1;
                            }
                        }
                        h
                    },
                )
                .reduce_with(|mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                })
                .unwrap_or_default();
            return Seen {
                hist,
                count,
                ..Seen::default()
            };
        }
        let (rows_per_b, n_gp) = (self.signs * self.geo.cycles, self.passes.len());
        let mut seen = Seen {
            count,
            ..Seen::default()
        };
        for (idx, prod) in products.prods.iter().enumerate() {
            let (chunk, gp) = (idx / n_gp, idx % n_gp);
            for (r, row) in prod.chunks(self.np).enumerate() {
                let b = chunk * products.chunk_b + r / rows_per_b;
                let (sign, t) = ((r % rows_per_b) / self.geo.cycles, r % self.geo.cycles);
                seen.values.extend(row[..n_data].iter().map(|&i| level(i)));
                seen.ids
                    .extend((0..n_data).map(|j| self.conv_id(b, sign, t, gp, j)));
            }
        }
        seen
    }

    /// The read of samples `0..batch` (as [`Plan::run`]) on products kept by
    /// [`Plan::products`] from a plan of the same layer, inputs and conductances.
    pub fn run_on(&self, batch: usize, products: &Products) -> (Vec<f64>, Counters) {
        let geo = &self.geo;
        let outs = geo.outs;
        let (np, lines) = (self.np, geo.lines);
        let rows_per_b = self.signs * geo.cycles;
        let chunk_b = products.chunk_b;
        let mut raw = vec![0f64; batch * outs];
        let mut counters = Counters::default();
        for (chunk, b0) in (0..batch).step_by(chunk_b).enumerate() {
            let b1 = (b0 + chunk_b).min(batch);
            let (dig, active) = self.digits(b0, b1);
            counters.active_rows += active;
            let mut acc = vec![0i64; (b1 - b0) * self.signs * outs];
            for (gp, &(g, p, lo, hi)) in self.passes.iter().enumerate() {
                let prod = &products.prods[chunk * self.passes.len() + gp];
                let per = acc
                    .par_chunks_mut(self.signs * outs)
                    .enumerate()
                    .map(|(i, acc_b)| {
                        let rows = i * rows_per_b..(i + 1) * rows_per_b;
                        let mut local = Counters::default();
                        self.epilogue(
                            (gp, g, p, lo, hi),
                            b0 + i,
                            &prod[rows.start * np..rows.end * np],
                            &dig[rows.start * lines..rows.end * lines],
                            acc_b,
                            &mut local,
                            None,
                        );
                        local
                    })
                    .collect::<Vec<_>>();
                for c in per {
                    counters += c;
                }
            }
            // The de-scaling of `Plan::run`, in the same f64 operations.
            for (i, acc_b) in acc.chunks(self.signs * outs).enumerate() {
                let r = &mut raw[(b0 + i) * outs..(b0 + i + 1) * outs];
                for sign in 0..self.signs {
                    let step = self.adc.step as f64;
                    let sgn = if sign == 1 { -step } else { step };
                    for (r, &a) in r.iter_mut().zip(&acc_b[sign * outs..(sign + 1) * outs]) {
                        *r += sgn * a as f64;
                    }
                }
            }
        }
        (raw, counters)
    }
}
