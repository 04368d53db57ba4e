//! The reference read (the oracle of the GEMM formulation in `fast_read`): every conversion's
//! partial sum taken line by line in increasing order, as the module documentation of `read`
//! states, with the effective conductances and their draws computed per call
//! (`effective::reference`). Slow and plain on purpose: the fast path must give its codes,
//! counters and outputs bit for bit.

use crate::config::{AdcMode, Mapping, ReadNoiseModel};
use crate::rng::Purpose;

use super::super::adc::Adc;
use super::super::counters::Counters;
use super::super::direction::Direction;
use super::super::draws::{normal_at, stream_key, tag};
use super::super::drift;
use super::super::effective;
use super::super::geometry::geometry;
use super::super::knobs::Knobs;
use super::super::mapping::LayerCells;
use super::super::minmax;
use super::super::read_input::{check_input, input_code, ReadInput};
use super::super::read_noise::{output_referred, OUT_REF};
use crate::config::Xbar;

/// The read, before de-scaling: raw `[batch][outs]` in levels x input codes, and the counters.
/// `signed`: negative inputs are read in a second pass and subtracted (else they count as 0).
/// `collect`: receives |I| in levels of every data-column conversion (calibration).
pub(super) fn read_core(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
    mut collect: Option<&mut Vec<f32>>,
) -> (Vec<f64>, Counters) {
    let (x, batch, x_max) = (inp.x, inp.batch, inp.x_max);
    let (signed, read_counter) = (inp.signed, inp.read_counter);
    let knobs = &Knobs {
        read_noise: drift::read_noise_at(knobs.read_noise, &cfg.device.drift),
        ..*knobs
    };
    let geo = geometry(layer, dir, cfg);
    assert_eq!(
        x.len(),
        batch * geo.lines,
        "input must be batch x {}",
        geo.lines
    );
    assert!(
        x_max > 0.0 && x_max.is_finite(),
        "x_max must be positive, got {x_max}"
    );
    let (eff, index) = effective::reference(layer, dir, &geo, cfg, knobs);
    let adc = Adc::new(layer, dir, cfg);
    let step = adc.step;
    let inv_unit = 1.0 / layer.unit();
    let transposed = dir == Direction::Transposed;
    let out_ref = cfg.device.read_noise_model == ReadNoiseModel::OutputReferred;
    let key_read = stream_key(knobs.seed, Purpose::ReadNoise, layer.instance, layer.layer);
    let key_out = stream_key(
        knobs.seed,
        Purpose::OutputNoise,
        layer.instance,
        layer.layer,
    );
    let (outs, lines, s, t_n) = (geo.outs, geo.lines, geo.slices, geo.cycles);
    let n_data = layer.sets() * outs;
    let d = geo.dac_bits as usize;
    let digit_mask = (1u32 << d) - 1;
    let c_bits = layer.cell_bits as usize;

    let mut raw = vec![0f64; batch * outs];
    let mut counters = Counters::default();
    let mut q = vec![0u32; lines];
    let mut digits = vec![0u32; t_n * geo.pass];
    let mut codes = vec![0i64; geo.ncol];
    let mut acc = vec![0i64; outs];
    // `minmax`: a first pass observes every tensor's [lo, hi], the second converts.
    let minmax = cfg.array.adc_mode == AdcMode::MinMax;
    let signs = 1 + signed as usize;
    let mut observed = minmax::empty(if minmax {
        minmax::tensors(&geo, signs)
    } else {
        0
    });
    let mut ranges = Vec::new();
    let mut vals = vec![0f64; if minmax { geo.ncol } else { 0 }];
    let mut accf = vec![0f64; if minmax { outs } else { 0 }];
    for phase in 0..1 + minmax as usize {
        let observing = minmax && phase == 0;
        if minmax && phase == 1 {
            ranges = observed
                .iter()
                .map(|&r| minmax::Range::new(r, geo.adc_bits))
                .collect::<Vec<_>>();
        }
        for b in 0..batch {
            let xb = &x[b * lines..(b + 1) * lines];
            for sign in 0..1 + signed as usize {
                let negative = sign == 1;
                for (qi, &v) in q.iter_mut().zip(xb) {
                    *qi = input_code(if negative { -v } else { v }, x_max, geo.in_bits);
                }
                acc.fill(0);
                accf.fill(0.0);
                for g in 0..geo.n_groups {
                    let g_end = ((g + 1) * geo.group).min(lines);
                    for p in 0..geo.n_pass {
                        let lo = g * geo.group + p * geo.pass;
                        let hi = (lo + geo.pass).min(g_end);
                        if lo >= hi {
                            continue;
                        }
                        let width = hi - lo;
                        for t in 0..t_n {
                            let dt = &mut digits[t * geo.pass..t * geo.pass + width];
                            for (dl, &ql) in dt.iter_mut().zip(&q[lo..hi]) {
                                *dl = (ql >> (d * t)) & digit_mask;
                            }
                            if !observing {
                                counters.active_rows +=
                                    dt.iter().filter(|&&v| v != 0).count() as u64;
                            }
                        }
                        for k in 0..s {
                            for t in 0..t_n {
                                let dt = &digits[t * geo.pass..t * geo.pass + width];
                                let tg = tag(t as u32, negative, transposed);
                                for (c, code) in codes.iter_mut().enumerate() {
                                    let base = (c * s + k) * lines + lo;
                                    let gs = &eff[base..base + width];
                                    let mut i_sum = 0f32;
                                    if knobs.read_noise > 0.0 && !out_ref {
                                        let ids = &index[base..base + width];
                                        for l in 0..width {
                                            if dt[l] != 0 {
                                                let z = normal_at(
                                                    key_read,
                                                    [ids[l], read_counter, tg, b as u32],
                                                );
                                                i_sum += dt[l] as f32
                                                    * gs[l]
                                                    * (1.0 + knobs.read_noise * z);
                                            }
                                        }
                                    } else {
                                        for l in 0..width {
                                            i_sum += dt[l] as f32 * gs[l];
                                        }
                                    }
                                    if knobs.read_noise > 0.0 && out_ref {
                                        let conv = ((g * geo.n_pass + p) * s + k) * geo.ncol + c;
                                        i_sum += output_referred(
                                            dt.iter().zip(gs).map(|(&d, &g)| d as f32 * g),
                                            knobs.read_noise,
                                            normal_at(
                                                key_read,
                                                [conv as u32, read_counter, tg | OUT_REF, b as u32],
                                            ),
                                        );
                                    }
                                    let tensor =
                                        minmax::tensor(&geo, sign, g, p, k, t, c >= n_data);
                                    if observing {
                                        minmax::observe(&mut observed[tensor], i_sum);
                                        continue;
                                    }
                                    if c < n_data {
                                        if let Some(v) = collect.as_deref_mut() {
                                            v.push((i_sum * inv_unit).abs());
                                        }
                                    }
                                    let mut noise = 0.0;
                                    if knobs.output_noise > 0.0 {
                                        let conv = ((g * geo.n_pass + p) * s + k) * geo.ncol + c;
                                        noise = knobs.output_noise
                                            * normal_at(
                                                key_out,
                                                [conv as u32, read_counter, tg, b as u32],
                                            );
                                    }
                                    if minmax {
                                        let r = &ranges[tensor];
                                        let (index, clipped) = r.index(i_sum, noise);
                                        counters.adc_clipped += clipped as u64;
                                        vals[c] = r.value(index);
                                        continue;
                                    }
                                    let (cd, clipped) = adc.quantize(adc.value(i_sum) + noise);
                                    counters.adc_clipped += clipped as u64;
                                    *code = cd;
                                }
                                if observing {
                                    continue;
                                }
                                counters.adc_conversions += geo.ncol as u64;
                                let shift = c_bits * k + d * t;
                                if minmax {
                                    minmax::shift_add(&mut accf, &vals, layer.mapping, shift);
                                    continue;
                                }
                                match layer.mapping {
                                    Mapping::Offset => {
                                        let r = codes[outs] + codes[outs + 1];
                                        for (a, &cd) in acc.iter_mut().zip(&codes[..outs]) {
                                            *a += (2 * cd - r) << shift;
                                        }
                                    }
                                    Mapping::Differential => {
                                        for (o, a) in acc.iter_mut().enumerate() {
                                            *a += (codes[o] - codes[outs + o]) << shift;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if observing {
                    continue;
                }
                let row = &mut raw[b * outs..(b + 1) * outs];
                if minmax {
                    let f = minmax::scale(layer, negative);
                    for (r, &a) in row.iter_mut().zip(&accf) {
                        *r += f * a;
                    }
                    continue;
                }
                let sgn = if negative {
                    -(step as f64)
                } else {
                    step as f64
                };
                for (r, &a) in row.iter_mut().zip(&acc) {
                    *r += sgn * a as f64;
                }
            }
        }
    }
    (raw, counters)
}

/// The reference loop (the oracle of the fast path): raw read as `read_raw`.
pub fn read_raw_reference(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> (Vec<f64>, Counters) {
    check_input(layer, dir, cfg, inp);
    read_core(layer, dir, inp, cfg, knobs, None)
}
