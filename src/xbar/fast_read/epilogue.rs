//! The ADC epilogue of a read's GEMM: each partial sum quantized to its code (with a check for
//! sums so near a rounding boundary that the GEMM's summation order could change the code,
//! those recomputed in the reference order), then shifted and added across input cycles and
//! slices with the reference (offset) or negative set (differential) subtracted.

use multiversion::multiversion;
use rayon::prelude::*;

use crate::config::Mapping;

use super::super::adc::Adc;
use super::super::counters::Counters;
use super::super::device::floor;
use super::super::direction::Direction;
use super::super::draws::tag;
use super::{Plan, Seen};

/// ADC code before clamping: floor((I - floor_i) inv_lsb + noise + 1/2), the reference's f32
/// operations (`Adc::value`, then the noise, then the rounding).
#[inline(always)]
fn adc_round(i: f32, adc: &Adc, noise: f32) -> f32 {
    floor(adc.value(i) + noise + 0.5)
}

/// ADC codes of a row of noise-free sums: each sum's code, or -1 where the sum is near a
/// rounding boundary (within `rel` of it, relative), and (near ones, clipped ones). The clipped
/// count takes the codes of the near ones from the interval's lower end.
fn quantize(
    prow: &[f32],
    rel: f32,
    inv_lsb: f32,
    floor_i: f32,
    max: f32,
    codes: &mut [i32],
) -> (u32, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { quantize_avx512(prow, rel, inv_lsb, floor_i, max, codes) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { quantize_avx2(prow, rel, inv_lsb, floor_i, max, codes) };
        }
    }
    quantize_impl(prow, rel, inv_lsb, floor_i, max, codes, floor)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn quantize_avx512(
    prow: &[f32],
    rel: f32,
    inv_lsb: f32,
    floor_i: f32,
    max: f32,
    codes: &mut [i32],
) -> (u32, u64) {
    quantize_impl(prow, rel, inv_lsb, floor_i, max, codes, f32::floor)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_avx2(
    prow: &[f32],
    rel: f32,
    inv_lsb: f32,
    floor_i: f32,
    max: f32,
    codes: &mut [i32],
) -> (u32, u64) {
    quantize_impl(prow, rel, inv_lsb, floor_i, max, codes, f32::floor)
}

/// Near sums recomputed side by side.
const LANES: usize = 8;

/// acc[o] += (code_o - reference) << shift for slice `k` of `codes` (`[column][slice]`):
/// offset mapping 2 code_o - code_lo - code_hi, differential code_o+ - code_o-.
#[multiversion(targets("x86_64+avx2"))]
fn shift_add(acc: &mut [i64], codes: &[i32], s: usize, k: usize, shift: u32, mapping: Mapping) {
    let outs = acc.len();
    if s == 1 {
        match mapping {
            Mapping::Offset => {
                let r = codes[outs] as i64 + codes[outs + 1] as i64;
                for (a, &c) in acc.iter_mut().zip(&codes[..outs]) {
                    *a += (2 * c as i64 - r) << shift;
                }
            }
            Mapping::Differential => {
                let (pos, neg) = codes.split_at(outs);
                for ((a, &cp), &cn) in acc.iter_mut().zip(pos).zip(&neg[..outs]) {
                    *a += (cp as i64 - cn as i64) << shift;
                }
            }
        }
        return;
    }
    let cd = |c: usize| codes[c * s + k] as i64;
    match mapping {
        Mapping::Offset => {
            let r = cd(outs) + cd(outs + 1);
            for (o, a) in acc.iter_mut().enumerate() {
                *a += (2 * cd(o) - r) << shift;
            }
        }
        Mapping::Differential => {
            for (o, a) in acc.iter_mut().enumerate() {
                *a += (cd(o) - cd(outs + o)) << shift;
            }
        }
    }
}

/// `fl` is the floor: `f32::floor` where SSE4.1 makes it one instruction, else [`floor`].
///
/// The code is a monotone function of the sum (every f32 operation of `adc_round` is), and the
/// reference's sum lies in [i - delta, i + delta]: where both ends round to one code, or both
/// clip on the same side, that is the reference's code and clip, so the sum itself need not be
/// rounded.
#[inline(always)]
fn quantize_impl(
    prow: &[f32],
    rel: f32,
    inv_lsb: f32,
    floor_i: f32,
    max: f32,
    codes: &mut [i32],
    fl: impl Fn(f32) -> f32,
) -> (u32, u64) {
    let (mut n_near, mut clipped) = (0u32, 0u32);
    for (c, &i) in codes.iter_mut().zip(prow) {
        let delta = i * rel;
        // adc_round at both ends (`Adc::value` is (i - floor_i) * inv_lsb; the noise is 0).
        let lo = fl((i - delta - floor_i) * inv_lsb + 0.5);
        let hi = fl((i + delta - floor_i) * inv_lsb + 0.5);
        // Both ends above the top (below 0) clip to the same code whatever lies between; a NaN
        // end is not settled, so it counts as near, as it does for `lo != hi`.
        let settled = (lo > max) | (hi < 0.0);
        let near = (lo != hi) & !settled;
        n_near += near as u32;
        clipped += ((lo < 0.0) | (lo > max)) as u32;
        // max/min (not clamp): never NaN, so the value is in [0, max] (= clamp for non-NaN lo;
        // NaN gives 0 as `NaN as i32` does).
        let v = lo.max(0.0).min(max);
        // SAFETY: v is finite and in [0, max], max < 2^31.
        let code = unsafe { v.to_int_unchecked::<i32>() };
        *c = if near { -1 } else { code };
    }
    (n_near, clipped as u64)
}

/// Per-conversion buffers of one row of a pass, reused across the epilogues a task runs
/// (every entry is written before it is read).
pub(super) struct Codes {
    codes: Vec<i32>,
}

impl Plan<'_> {
    /// Buffers for the epilogues of one task.
    pub(super) fn epilogue_buffers(&self) -> Codes {
        Codes {
            codes: vec![0; self.np],
        }
    }
    /// Codes of the sums `quantize` marked near a rounding boundary (code -1): the sum taken
    /// again in the reference order (noise-free terms: digits `dt` of the pass's lines from
    /// `lo`), and the clipped count moved from the interval's lower end that `quantize`
    /// counted to the reference's code.
    fn resolve_near(
        &self,
        codes: &mut [i32],
        prow: &[f32],
        rel: f32,
        (dt, lo): (&[f32], usize),
        counters: &mut Counters,
    ) {
        const SPAN: usize = 16;
        let mut near = Vec::new();
        for (ci, chunk) in codes.chunks(SPAN).enumerate() {
            // An OR over the span vectorizes; most spans hold no near sum.
            if chunk.iter().fold(0, |a, &c| a | c) < 0 {
                let at = chunk.iter().enumerate().filter(|(_, &c)| c < 0);
                near.extend(at.map(|(jj, _)| ci * SPAN + jj));
            }
        }
        let out = |r: f32| !(0.0..=self.adc.max_code).contains(&r) as u64;
        for js in near.chunks(LANES) {
            let sums = self.plain_sums(dt, lo, js);
            for (&j, &i_ref) in js.iter().zip(&sums) {
                let i = prow[j];
                let was = floor((i - i * rel - self.adc.floor_i) * self.adc.inv_lsb + 0.5);
                let r = adc_round(i_ref, &self.adc, 0.0);
                counters.adc_clipped = counters.adc_clipped + out(r) - out(was);
                codes[j] = r.clamp(0.0, self.adc.max_code) as i32;
            }
        }
    }

    /// The noise-free partial sums of column-slices `js` (at most `LANES`) in the reference's
    /// order, as `reference_sum` takes them: `LANES` independent sums side by side, so their
    /// additions overlap instead of waiting on one another.
    fn plain_sums(&self, dt: &[f32], lo: usize, js: &[usize]) -> [f32; LANES] {
        let lines = self.geo.lines;
        let n = dt.len();
        let gs: [&[f32]; LANES] = std::array::from_fn(|q| {
            let j = js[q.min(js.len() - 1)];
            &self.eff[j * lines + lo..j * lines + lo + n]
        });
        let mut sums = [0f32; LANES];
        for (l, &d) in dt.iter().enumerate() {
            for (s, g) in sums.iter_mut().zip(&gs) {
                *s += d * g[l];
            }
        }
        sums
    }

    /// The ADC epilogue of one pass over samples `b0..` of a chunk (`prod` and `dig` hold the
    /// chunk's rows; `prod` empty with read noise), in parallel over samples; `collect` =
    /// Some(exact ids) gathers the data-column sums. Returns the counters and the sums seen.
    pub(super) fn epilogue_pass(
        &self,
        pass: (usize, usize, usize, usize, usize),
        b0: usize,
        prod: &[f32],
        dig: &[f32],
        acc: &mut [i64],
        collect: Option<bool>,
    ) -> (Counters, Option<Seen>) {
        let (outs, lines, np) = (self.geo.outs, self.geo.lines, self.np);
        let rows_per_b = self.signs * self.geo.cycles;
        let per = acc
            .par_chunks_mut(self.signs * outs)
            .enumerate()
            .map_init(
                || self.epilogue_buffers(),
                |bufs, (i, acc_b)| {
                    let rows = i * rows_per_b..(i + 1) * rows_per_b;
                    let prod_b = if prod.is_empty() {
                        &[][..]
                    } else {
                        &prod[rows.start * np..rows.end * np]
                    };
                    let dig_b = &dig[rows.start * lines..rows.end * lines];
                    let mut local = Counters::default();
                    let mut s_local = collect.map(|_| Seen::default());
                    self.epilogue(
                        pass,
                        b0 + i,
                        prod_b,
                        dig_b,
                        acc_b,
                        &mut local,
                        s_local.as_mut().zip(collect),
                        bufs,
                    );
                    (local, s_local)
                },
            )
            .collect::<Vec<_>>();
        let mut counters = Counters::default();
        let mut seen = collect.map(|_| Seen::default());
        for (c, s) in per {
            counters += c;
            if let (Some(all), Some(s)) = (seen.as_mut(), s) {
                all.merge(s);
            }
        }
        (counters, seen)
    }

    /// Adds the signed, de-scaled accumulators of samples `b0..` of a chunk to `raw`.
    pub(super) fn descale(&self, b0: usize, acc: &[i64], raw: &mut [f64]) {
        let outs = self.geo.outs;
        let step = self.adc.step as f64;
        for (i, acc_b) in acc.chunks(self.signs * outs).enumerate() {
            let r = &mut raw[(b0 + i) * outs..(b0 + i + 1) * outs];
            for sign in 0..self.signs {
                let sgn = if sign == 1 { -step } else { step };
                for (r, &a) in r.iter_mut().zip(&acc_b[sign * outs..(sign + 1) * outs]) {
                    *r += sgn * a as f64;
                }
            }
        }
    }

    /// ADC and shift-add of one sample's conversions in one pass: `prod` holds its products
    /// `[sign][t][np]` (empty with read noise), `dig` its digits `[sign][t][lines]`, `acc`
    /// its accumulators `[sign][outs]`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn epilogue(
        &self,
        (gp, g, p, lo, hi): (usize, usize, usize, usize, usize),
        b: usize,
        prod: &[f32],
        dig: &[f32],
        acc: &mut [i64],
        counters: &mut Counters,
        mut seen: Option<(&mut Seen, bool)>,
        bufs: &mut Codes,
    ) {
        let geo = &self.geo;
        let (np, s, outs, lines) = (self.np, geo.slices, geo.outs, geo.lines);
        let c_bits = self.layer.cell_bits as usize;
        let d = geo.dac_bits as usize;
        let noisy_terms = self.knobs.read_noise > 0.0;
        let Codes { codes: codes32 } = bufs;
        for sign in 0..self.signs {
            let acc = &mut acc[sign * outs..(sign + 1) * outs];
            for t in 0..geo.cycles {
                let row = sign * geo.cycles + t;
                let dt = &dig[row * lines + lo..row * lines + hi];
                let tg = tag(t as u32, sign == 1, self.dir == Direction::Transposed);
                // Bound on |I_gemm - I_ref| / I_gemm (2 gamma_n), with margin for the f32 ends
                // of the boundary check. A zero digit's term is an exact +0 in both sums (the
                // conductances are finite and non-negative), so n counts the nonzero digits.
                let n = dt.iter().fold(0u32, |a, &v| a + (v != 0.0) as u32);
                let rel = (2 * n + 8) as f32 * f32::EPSILON * 0.5;
                if !noisy_terms && self.knobs.output_noise == 0.0 {
                    if n == 0 && seen.is_none() {
                        // Every digit 0 (common in the high cycles): every sum is an exact +0,
                        // so every column gets one code, and the shift-add (2 c_o - c_lo - c_hi,
                        // or c_o+ - c_o-) adds nothing.
                        let mut code = [0i32];
                        let (_, clipped) = quantize(
                            &[0.0],
                            rel,
                            self.adc.inv_lsb,
                            self.adc.floor_i,
                            self.adc.max_code,
                            &mut code,
                        );
                        counters.adc_clipped += clipped * np as u64;
                        counters.adc_conversions += np as u64;
                        continue;
                    }
                    // The common case in loops that vectorize; the rare sums near a rounding
                    // boundary are then taken again in the reference order.
                    let prow = &prod[row * np..(row + 1) * np];
                    let (near, clipped) = quantize(
                        prow,
                        rel,
                        self.adc.inv_lsb,
                        self.adc.floor_i,
                        self.adc.max_code,
                        codes32,
                    );
                    counters.adc_clipped += clipped;
                    if near > 0 {
                        self.resolve_near(codes32, prow, rel, (dt, lo), counters);
                    }
                    if let Some((sn, ids)) = seen.as_mut() {
                        // GEMM values: `percentile` bounds their error (and recomputes the
                        // candidates of an exact percentile).
                        let data = &prow[..self.n_data * s];
                        sn.values
                            .extend(data.iter().map(|&i| (i * self.inv_unit).abs()));
                        if *ids {
                            sn.ids
                                .extend((0..data.len()).map(|j| self.conv_id(b, sign, t, gp, j)));
                        }
                    }
                } else {
                    for (j, code) in codes32.iter_mut().enumerate() {
                        let noise = self.out_noise(g, p, j, b, tg);
                        let mut i_sum;
                        let mut r;
                        if noisy_terms {
                            i_sum = self.reference_sum(dt, lo, j, b, tg, g, p);
                            r = adc_round(i_sum, &self.adc, noise);
                        } else {
                            i_sum = prod[row * np + j];
                            r = adc_round(i_sum, &self.adc, noise);
                            let delta = i_sum * rel;
                            let r_lo = adc_round(i_sum - delta, &self.adc, noise);
                            let r_hi = adc_round(i_sum + delta, &self.adc, noise);
                            if r_lo != r_hi {
                                i_sum = self.reference_sum(dt, lo, j, b, tg, g, p);
                                r = adc_round(i_sum, &self.adc, noise);
                            }
                        }
                        if let Some((sn, ids)) = seen.as_mut() {
                            if j / s < self.n_data {
                                sn.values.push((i_sum * self.inv_unit).abs());
                                if *ids {
                                    sn.ids.push(self.conv_id(b, sign, t, gp, j));
                                }
                            }
                        }
                        if !(0.0..=self.adc.max_code).contains(&r) {
                            counters.adc_clipped += 1;
                        }
                        *code = r.clamp(0.0, self.adc.max_code) as i32;
                    }
                }
                counters.adc_conversions += np as u64;
                for k in 0..s {
                    let shift = (c_bits * k + d * t) as u32;
                    shift_add(acc, codes32, s, k, shift, self.layer.mapping);
                }
            }
        }
    }
}
