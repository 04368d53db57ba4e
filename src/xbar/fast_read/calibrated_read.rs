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

/// The GEMM products of a read: `[chunk][pass]`, each `[rows of the chunk][columns x slices]`;
/// for reads above `percentile::EXACT_LIMIT` sums, the coarse histogram of their data columns.
pub struct Products {
    chunk_b: usize,
    prods: Vec<Vec<f32>>,
    coarse: Option<Vec<u64>>,
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

    /// |I| in levels of a data column's sum.
    #[inline]
    fn level(&self, i: f32) -> f32 {
        (i * self.inv_unit).abs()
    }

    /// The products of a read of `batch` (see [`Plan::keeps_products`]).
    pub fn products(&self, batch: usize) -> Products {
        let geo = &self.geo;
        let rows_per_b = self.signs * geo.cycles;
        let chunk_b = self.chunk_samples(batch);
        let n_data = self.n_data * geo.slices;
        let binned = self.data_conversions(batch) > percentile::EXACT_LIMIT;
        let mut coarse = binned.then(|| vec![0u64; percentile::bins().div_ceil(percentile::FINE)]);
        let mut prods = Vec::new();
        for b0 in (0..batch).step_by(chunk_b) {
            let b1 = (b0 + chunk_b).min(batch);
            let (dig, _) = self.digits(b0, b1);
            let m = (b1 - b0) * rows_per_b;
            for &(_, _, lo, hi) in &self.passes {
                let mut prod = vec![0f32; m * self.np];
                self.pass_product(&dig, m, (lo, hi), &mut prod);
                if let Some(all) = coarse.as_mut() {
                    // Binned while the product is in cache.
                    let part =
                        self.count_rows(&prod, n_data, all.len(), |v| Some(percentile::coarse(v)));
                    all.iter_mut().zip(&part).for_each(|(a, b)| *a += b);
                }
                prods.push(prod);
            }
        }
        Products {
            chunk_b,
            prods,
            coarse,
        }
    }

    /// Histogram (`bins` bins) of the data-column levels of `prod`'s rows under `bin_of`
    /// (`None`: not counted), counted in parallel.
    fn count_rows(
        &self,
        prod: &[f32],
        n_data: usize,
        bins: usize,
        bin_of: impl Fn(f32) -> Option<usize> + Sync,
    ) -> Vec<u64> {
        // Neighbouring sums mostly share a bin: `WAYS` interleaved copies of the histogram keep
        // their increments from waiting on each other.
        const WAYS: usize = 4;
        let rows = (1 << 14) / self.np.max(1) + 1;
        prod.par_chunks(rows * self.np)
            .fold(
                || vec![0u32; WAYS * bins],
                |mut h, part| {
                    let (h0, rest) = h.split_at_mut(bins);
                    let (h1, rest) = rest.split_at_mut(bins);
                    let (h2, h3) = rest.split_at_mut(bins);
                    let count = |h: &mut [u32], i: f32| {
                        if let Some(b) = bin_of(self.level(i)) {
                            h[b] += 1;
                        }
                    };
                    for row in part.chunks(self.np) {
                        let mut quads = row[..n_data].chunks_exact(WAYS);
                        for q in &mut quads {
                            count(h0, q[0]);
                            count(h1, q[1]);
                            count(h2, q[2]);
                            count(h3, q[3]);
                        }
                        for &i in quads.remainder() {
                            count(h0, i);
                        }
                    }
                    h
                },
            )
            .map(|h| {
                let mut sum = vec![0u64; bins];
                for way in h.chunks(bins) {
                    sum.iter_mut().zip(way).for_each(|(s, &c)| *s += c as u64);
                }
                sum
            })
            .reduce(
                || vec![0u64; bins],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            )
    }

    /// The levels of 1-based `ranks` among the data-column sums of `products`, when they were
    /// binned (above `percentile::EXACT_LIMIT` sums): the values of the full histogram
    /// (`percentile::from_histogram`), from the coarse histogram and a count of the fine bins
    /// of the two coarse bins the ranks fall in. `None` when not binned or a rank is beyond
    /// the sums.
    pub fn binned_levels(&self, products: &Products, ranks: [u64; 2]) -> Option<[f32; 2]> {
        let coarse = products.coarse.as_ref()?;
        let at = ranks.map(|r| percentile::coarse_rank(coarse, r));
        let [Some((c0, below0)), Some((c1, below1))] = at else {
            return None;
        };
        let n_data = self.n_data * self.geo.slices;
        let fine = percentile::FINE;
        // Fine bins of c0 first, then of c1 (the two may be one).
        let both = products
            .prods
            .par_iter()
            .map(|prod| {
                self.count_rows(prod, n_data, 2 * fine, |v| match percentile::coarse(v) {
                    c if c == c0 => Some(percentile::fine(v)),
                    c if c == c1 => Some(fine + percentile::fine(v)),
                    _ => None,
                })
            })
            .reduce(
                || vec![0u64; 2 * fine],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        let hi_fine = if c1 == c0 {
            &both[..fine]
        } else {
            &both[fine..]
        };
        Some([
            percentile::from_two_level(c0, below0, &both[..fine], ranks[0]),
            percentile::from_two_level(c1, below1, hi_fine, ranks[1]),
        ])
    }

    /// The data-column sums of `products` with their ids, as [`Plan::run`] collects them for
    /// an exact percentile (reads up to `percentile::EXACT_LIMIT` sums).
    pub fn seen_in(&self, products: &Products, batch: usize) -> Seen {
        let n_data = self.n_data * self.geo.slices;
        let (rows_per_b, n_gp) = (self.signs * self.geo.cycles, self.passes.len());
        let mut seen = Seen {
            count: self.data_conversions(batch),
            ..Seen::default()
        };
        for (idx, prod) in products.prods.iter().enumerate() {
            let (chunk, gp) = (idx / n_gp, idx % n_gp);
            for (r, row) in prod.chunks(self.np).enumerate() {
                let b = chunk * products.chunk_b + r / rows_per_b;
                let (sign, t) = ((r % rows_per_b) / self.geo.cycles, r % self.geo.cycles);
                seen.values
                    .extend(row[..n_data].iter().map(|&i| self.level(i)));
                seen.ids
                    .extend((0..n_data).map(|j| self.conv_id(b, sign, t, gp, j)));
            }
        }
        seen
    }

    /// The read of samples `0..batch` (as [`Plan::run`]) on products kept by
    /// [`Plan::products`] from a plan of the same layer, inputs and conductances.
    pub fn run_on(&self, batch: usize, products: &Products) -> (Vec<f64>, Counters) {
        let outs = self.geo.outs;
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
                let (c, _) = self.epilogue_pass((gp, g, p, lo, hi), b0, prod, &dig, &mut acc, None);
                counters += c;
            }
            self.descale(b0, &acc, &mut raw);
        }
        (raw, counters)
    }
}
