//! The `minmax` ADC mode of the fast read: per-tensor ADC ranges from the sums' minimum and
//! maximum, so every sum is taken (in the reference order, no GEMM) before any is converted.

use rayon::prelude::*;

use super::super::counters::Counters;
use super::super::direction::Direction;
use super::super::draws::tag;
use super::super::minmax;
use super::Plan;

impl Plan<'_> {
    /// Digits `[t][line]` of the lines lo..hi of sample `b`, sign pass `sign`, and their
    /// nonzero count.
    fn pass_digits(&self, b: usize, sign: usize, lo: usize, hi: usize) -> (Vec<f32>, u64) {
        let t_n = self.geo.cycles;
        let mut dig = vec![0f32; t_n * (hi - lo)];
        let mut active = 0u64;
        for t in 0..t_n {
            for (i, l) in (lo..hi).enumerate() {
                let d = self.digit(b, sign, t, l);
                dig[t * (hi - lo) + i] = d as f32;
                active += (d != 0) as u64;
            }
        }
        (dig, active)
    }

    /// The `minmax` read (`minmax`): every partial sum in the reference's order (no GEMM), a
    /// first sweep for each tensor's [lo, hi] (min and max are order-independent, so the
    /// samples run in parallel), then conversion and f64 shift-add per sample in the
    /// reference's (group, pass, slice, cycle) order. Bit-identical to the reference.
    pub(super) fn run_minmax(&self, batch: usize) -> (Vec<f64>, Counters) {
        let geo = &self.geo;
        let (s, ncol, n_data) = (geo.slices, geo.ncol, self.n_data);
        let n = minmax::tensors(geo, self.signs);
        let observed = (0..batch)
            .into_par_iter()
            .map(|b| {
                let mut seen = minmax::empty(n);
                for sign in 0..self.signs {
                    for &(g, p, lo, hi) in &self.passes {
                        let (dig, _) = self.pass_digits(b, sign, lo, hi);
                        for t in 0..geo.cycles {
                            let dt = &dig[t * (hi - lo)..(t + 1) * (hi - lo)];
                            let tg = tag(t as u32, sign == 1, self.dir == Direction::Transposed);
                            for c in 0..ncol {
                                for k in 0..s {
                                    let i = self.reference_sum(dt, lo, c * s + k, b, tg, g, p);
                                    let tn = minmax::tensor(geo, sign, g, p, k, t, c >= n_data);
                                    minmax::observe(&mut seen[tn], i);
                                }
                            }
                        }
                    }
                }
                seen
            })
            .reduce(
                || minmax::empty(n),
                |mut a, b| {
                    minmax::merge(&mut a, &b);
                    a
                },
            );
        let ranges: Vec<minmax::Range> = observed
            .iter()
            .map(|&r| minmax::Range::new(r, geo.adc_bits))
            .collect();
        let c_bits = self.layer.cell_bits as usize;
        let d = geo.dac_bits as usize;
        let outs = geo.outs;
        let per: Vec<(Vec<f64>, Counters)> = (0..batch)
            .into_par_iter()
            .map(|b| {
                let mut raw = vec![0f64; outs];
                let mut cnt = Counters::default();
                let mut vals = vec![0f64; ncol];
                let mut acc = vec![0f64; outs];
                for sign in 0..self.signs {
                    acc.fill(0.0);
                    for &(g, p, lo, hi) in &self.passes {
                        let (dig, active) = self.pass_digits(b, sign, lo, hi);
                        cnt.active_rows += active;
                        for k in 0..s {
                            for t in 0..geo.cycles {
                                let dt = &dig[t * (hi - lo)..(t + 1) * (hi - lo)];
                                let tg =
                                    tag(t as u32, sign == 1, self.dir == Direction::Transposed);
                                for (c, v) in vals.iter_mut().enumerate() {
                                    let j = c * s + k;
                                    let i = self.reference_sum(dt, lo, j, b, tg, g, p);
                                    let noise = self.out_noise(g, p, j, b, tg);
                                    let r =
                                        &ranges[minmax::tensor(geo, sign, g, p, k, t, c >= n_data)];
                                    let (index, clipped) = r.index(i, noise);
                                    cnt.adc_clipped += clipped as u64;
                                    *v = r.value(index);
                                }
                                cnt.adc_conversions += ncol as u64;
                                minmax::shift_add(
                                    &mut acc,
                                    &vals,
                                    self.layer.mapping,
                                    c_bits * k + d * t,
                                );
                            }
                        }
                    }
                    let f = minmax::scale(self.layer, sign == 1);
                    for (r, &a) in raw.iter_mut().zip(&acc) {
                        *r += f * a;
                    }
                }
                (raw, cnt)
            })
            .collect();
        let mut raw = Vec::with_capacity(batch * outs);
        let mut counters = Counters::default();
        for (r, c) in per {
            raw.extend_from_slice(&r);
            counters += c;
        }
        (raw, counters)
    }
}
