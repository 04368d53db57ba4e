//! A calibrating read in one pass: the GEMM products of every pass are kept, the calibration
//! percentile is taken from them, and the epilogue then runs on the same products with the
//! calibrated ADC, where a calibration read followed by a plain read would compute every
//! product twice. The products are those of the plain read's tasks and steps (`blocks`): each
//! task computes and keeps its block's products, counting the coarse histogram of each step's
//! product while it is in cache; the epilogue then runs the same blocks and steps on them. Every
//! product is the one value the GEMM gives whatever the blocking, so the calibrated range and
//! the read are the two-pass ones exactly.

use multiversion::multiversion;
use rayon::prelude::*;

use super::super::counters::Counters;
use super::super::percentile;
use super::blocks::with_scratch;
use super::pool::Arenas;
use super::{Plan, Seen};

/// Products a calibrating read may keep (f32 values, 1 GiB); larger reads take two passes.
const KEPT_PRODUCTS: usize = 1 << 28;

/// Neighbouring sums mostly share a bin: `WAYS` interleaved copies of a histogram keep their
/// increments from waiting on each other.
const WAYS: usize = 4;

/// The GEMM products of a read: per task block of `block` samples (the last may be shorter),
/// per step, per pass, `[rows of the step][columns x slices]`; for reads above
/// `percentile::EXACT_LIMIT` sums, the coarse histogram of their data columns.
pub struct Products {
    block: usize,
    /// Every block's products back to back (a kept buffer, maybe longer), block `i` ending
    /// at `ends[i]`.
    data: Vec<f32>,
    ends: Vec<usize>,
    coarse: Option<Vec<u64>>,
}

/// The products of finished reads, for the next.
static KEPT: Arenas = Arenas::new();

impl Drop for Products {
    fn drop(&mut self) {
        KEPT.give(std::mem::take(&mut self.data));
    }
}

impl Products {
    /// The products of each task block.
    pub(super) fn slabs(&self) -> Vec<&[f32]> {
        let mut at = 0;
        (self.ends.iter())
            .map(|&end| {
                let slab = &self.data[at..end];
                at = end;
                slab
            })
            .collect()
    }
}

impl Plan<'_> {
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

    /// The products of a read of `batch` (see [`Plan::keeps_products`]), one task per block.
    pub fn products(&self, batch: usize) -> Products {
        self.pack_panels();
        let block = self.block_samples(batch);
        let binned = self.data_conversions(batch) > percentile::EXACT_LIMIT;
        let bins = percentile::bins().div_ceil(percentile::FINE);
        // Kept across reads (`Products` gives it back): every value is written by
        // `keep_block`, so a reused buffer is neither zeroed nor faulted in again.
        let ends: Vec<usize> = (0..batch.div_ceil(block))
            .scan(0, |end, i| {
                *end += self.kept_len(block.min(batch - i * block));
                Some(*end)
            })
            .collect();
        let mut data = KEPT.take(ends.last().copied().unwrap_or(0));
        let mut slabs = Vec::with_capacity(ends.len());
        let mut rest = &mut data[..];
        let mut at = 0;
        for &end in &ends {
            let (slab, tail) = rest.split_at_mut(end - at);
            slabs.push(slab);
            (rest, at) = (tail, end);
        }
        let per_task: Vec<Vec<u32>> = slabs
            .into_par_iter()
            .enumerate()
            .map(|(i, slab)| {
                let (b0, nb) = (i * block, block.min(batch - i * block));
                let mut hist = vec![0u32; if binned { WAYS * bins } else { 0 }];
                with_scratch(|s| {
                    self.keep_block(b0, nb, &mut s.codes, &mut s.dig, slab, &mut hist);
                });
                hist
            })
            .collect();
        let coarse = binned.then(|| {
            let mut all = vec![0u64; bins];
            for h in &per_task {
                add_ways(&mut all, h);
            }
            all
        });
        Products {
            block,
            data,
            ends,
            coarse,
        }
    }

    /// Values a block of `nb` samples keeps.
    fn kept_len(&self, nb: usize) -> usize {
        nb * self.signs * self.geo.cycles * self.passes.len() * self.np
    }

    /// The products of samples `b0..b0 + nb` into `slab`, step by step (`Plan::step_samples`)
    /// and pass by pass; the coarse bins of their data columns counted into `hist` (`WAYS`
    /// copies; empty: not counted) while each step's product is in cache.
    fn keep_block(
        &self,
        b0: usize,
        nb: usize,
        codes: &mut Vec<u32>,
        dig: &mut Vec<f32>,
        slab: &mut [f32],
        hist: &mut [u32],
    ) {
        let rows_per_b = self.signs * self.geo.cycles;
        let (lines, np) = (self.geo.lines, self.np);
        let n_data = self.n_data * self.geo.slices;
        let step = self.step_samples(nb);
        dig.resize(step * rows_per_b * lines, 0.0);
        for i0 in (0..nb).step_by(step) {
            let n = step.min(nb - i0);
            self.block_digits(b0 + i0, n, codes, dig);
            let m = n * rows_per_b;
            for (gp, &(_, _, lo, hi)) in self.passes.iter().enumerate() {
                let at = (i0 * self.passes.len() + gp * n) * rows_per_b * np;
                let prod = &mut slab[at..at + m * np];
                self.step_product(gp, dig, m, (lo, hi), prod);
                if !hist.is_empty() {
                    self.count(prod, n_data, hist, |v| Some(percentile::coarse(v)));
                }
            }
        }
    }

    /// Counts the data-column levels of `prod`'s rows under `bin_of` (`None`: not counted)
    /// into `hist`, `WAYS` interleaved copies of the histogram.
    fn count(
        &self,
        prod: &[f32],
        n_data: usize,
        hist: &mut [u32],
        bin_of: impl Fn(f32) -> Option<usize>,
    ) {
        let bins = hist.len() / WAYS;
        let (h0, rest) = hist.split_at_mut(bins);
        let (h1, rest) = rest.split_at_mut(bins);
        let (h2, h3) = rest.split_at_mut(bins);
        let count = |h: &mut [u32], i: f32| {
            if let Some(b) = bin_of(self.level(i)) {
                h[b] += 1;
            }
        };
        let zero_bin = bin_of(self.level(0.0));
        for row in prod.chunks(self.np) {
            // A row of +0 sums (every digit of the pass 0, common in the high input cycles) is
            // one bin; the OR over its bits vectorizes.
            if let Some(b) = zero_bin {
                if row[..n_data].iter().fold(0u32, |a, &i| a | i.to_bits()) == 0 {
                    h0[b] += n_data as u32;
                    continue;
                }
            }
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
        // Fine bins of c0 first, then of c1 (the two may be one), exact zeros left out (they
        // are most of coarse bin 0 and would make the scan branch on every value). Tasks of
        // whole rows.
        let rows = ((1 << 16) / self.np.max(1)).max(1);
        let mut both = (products.slabs())
            .into_par_iter()
            .flat_map(|slab| slab.par_chunks(rows * self.np))
            .fold(
                || vec![0u64; 2 * fine],
                |mut h, part| {
                    for row in part.chunks(self.np) {
                        count_fine(&row[..n_data], self.inv_unit, [c0, c1], &mut h);
                    }
                    h
                },
            )
            .reduce(
                || vec![0u64; 2 * fine],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        // The zeros: the values of coarse bin 0 not counted, all in its fine bin 0.
        let halves = if c1 == c0 { 1 } else { 2 };
        for (half, c) in [c0, c1].into_iter().enumerate().take(halves) {
            if c == 0 {
                let h = &mut both[half * fine..(half + 1) * fine];
                h[0] += coarse[0] - h.iter().sum::<u64>();
            }
        }
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
        let (rows_per_b, np) = (self.signs * self.geo.cycles, self.np);
        let mut seen = Seen {
            count: self.data_conversions(batch),
            ..Seen::default()
        };
        for (i, slab) in products.slabs().into_iter().enumerate() {
            let b0 = i * products.block;
            let nb = products.block.min(batch - b0);
            let step = self.step_samples(nb);
            for i0 in (0..nb).step_by(step) {
                let n = step.min(nb - i0);
                for gp in 0..self.passes.len() {
                    let at = (i0 * self.passes.len() + gp * n) * rows_per_b * np;
                    let prod = &slab[at..at + n * rows_per_b * np];
                    for (r, row) in prod.chunks(np).enumerate() {
                        let b = b0 + i0 + r / rows_per_b;
                        let (sign, t) = ((r % rows_per_b) / self.geo.cycles, r % self.geo.cycles);
                        seen.values
                            .extend(row[..n_data].iter().map(|&i| self.level(i)));
                        seen.ids
                            .extend((0..n_data).map(|j| self.conv_id(b, sign, t, gp, j)));
                    }
                }
            }
        }
        seen
    }

    /// The read of samples `0..batch` (as [`Plan::run`]) on products kept by
    /// [`Plan::products`] from a plan of the same layer, inputs and conductances.
    pub fn run_on(&self, batch: usize, products: &Products) -> (Vec<f64>, Counters) {
        self.run_blocks(batch, Some((products.block, &products.slabs())))
    }
}

/// Counts the levels |i inv_unit| of `data` whose coarse bin is `c[0]` into the fine bins
/// `h[..FINE]`, else those whose coarse bin is `c[1]` into `h[FINE..]`; exact zeros are not
/// counted (nor the subnormals of bin 0, which share its fine bin 0). Spans of values are tested without branches first (SIMD where the CPU has it):
/// few hold a value of either bin.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn count_fine(data: &[f32], inv_unit: f32, [c0, c1]: [usize; 2], h: &mut [u64]) {
    const SPAN: usize = 16;
    let fine = percentile::FINE;
    let bin = |i: f32| percentile::bin((i * inv_unit).abs());
    let hit = |b: usize| ((b / fine == c0) | (b / fine == c1)) & (b != 0);
    for span in data.chunks(SPAN) {
        if span.iter().fold(false, |a, &i| a | hit(bin(i))) {
            for &i in span {
                let b = bin(i);
                let (c, f) = (b / fine, b % fine);
                if b == 0 {
                    continue;
                }
                if c == c0 {
                    h[f] += 1;
                } else if c == c1 {
                    h[fine + f] += 1;
                }
            }
        }
    }
}

/// Adds the `WAYS` interleaved copies of histogram `h` to `sum`.
fn add_ways(sum: &mut [u64], h: &[u32]) {
    for way in h.chunks(sum.len()) {
        sum.iter_mut().zip(way).for_each(|(s, &c)| *s += c as u64);
    }
}
