//! The quantized analog read against integer and float references.

use crate::common::xbar as common;

use common::*;
use insitu::config::{AdcMode, Mapping};
use insitu::xbar::direction::Direction;
use insitu::xbar::mapping::{map_weights, weight_code};
use insitu::xbar::read::{read, read_raw};
use insitu::xbar::read_input::{input_code, ReadInput};
use insitu::xbar::{calibrate, read_forward, read_transposed};

#[allow(clippy::too_many_arguments)]
/// Integer reference: out[b][o] = sum_l code_w(l, o) * (q+ - q-).
fn int_matmul(
    w: &[f32],
    n: usize,
    k: usize,
    x: &[f32],
    batch: usize,
    x_max: f32,
    cfg: &insitu::xbar::Xbar,
    dir: Direction,
    s: f32,
) -> Vec<i64> {
    let a = &cfg.array;
    let (lines, outs, bits) = match dir {
        Direction::Forward => (k, n, a.input_bits),
        Direction::Transposed => (n, k, a.error_bits),
    };
    let mut y = vec![0i64; batch * outs];
    for b in 0..batch {
        for o in 0..outs {
            let mut acc = 0i64;
            for l in 0..lines {
                let (j, i) = match dir {
                    Direction::Forward => (o, l),
                    Direction::Transposed => (l, o),
                };
                let code = weight_code(w[j * k + i], s, a.weight_bits, a.mapping).0;
                let v = x[b * lines + l];
                let q = input_code(v, x_max, bits) as i64 - input_code(-v, x_max, bits) as i64;
                acc += code * q;
            }
            y[b * outs + o] = acc;
        }
    }
    y
}

#[test]
fn ideal_read_equals_integer_matmul() {
    let mut case = 0u64;
    for mapping in [Mapping::Offset, Mapping::Differential] {
        for (wb, cb, ib, db, par) in [
            (8, 2, 8, 1, 128),
            (8, 3, 6, 2, 48),
            (4, 4, 5, 5, 128),
            (1, 1, 3, 1, 32),
        ] {
            for (k, n, batch) in [(1, 3, 1), (127, 5, 2), (129, 4, 3), (300, 7, 1)] {
                case += 1;
                let mut cfg = ideal(mapping, wb, cb, ib, db);
                cfg.array.parallel_rows = par;
                let w = values(n * k, case, -0.7, 0.7);
                let layer = map_weights(&w, n, k, None, &cfg, 0, 1);
                let s = layer.scale;
                let knobs = quiet(case);
                for dir in [Direction::Forward, Direction::Transposed] {
                    let lines = if dir == Direction::Forward { k } else { n };
                    let x = values(batch * lines, case + 100, -1.0, 1.0);
                    let signed = dir == Direction::Transposed;
                    let (raw, cnt) = read_raw(
                        &layer,
                        dir,
                        &ReadInput::new(&x, batch, 1.0).signed(signed),
                        &cfg,
                        &knobs,
                    );
                    let mut x_ref = x.clone();
                    if !signed {
                        x_ref.iter_mut().for_each(|v| *v = v.max(0.0));
                    }
                    let want = int_matmul(&w, n, k, &x_ref, batch, 1.0, &cfg, dir, s);
                    for (r, w) in raw.iter().zip(&want) {
                        assert_eq!(
                            *r, *w as f64,
                            "{mapping:?} wb {wb} cb {cb} k {k} n {n} {dir:?}"
                        );
                    }
                    assert_eq!(cnt.adc_clipped, 0);
                    // Conversions: per sample and sign, every nonempty pass x slices x cycles x columns.
                    let geo = insitu::xbar::geometry::geometry(&layer, dir, &cfg);
                    let mut passes = 0u64;
                    for g in 0..geo.n_groups {
                        let end = ((g + 1) * geo.group).min(geo.lines);
                        for p in 0..geo.n_pass {
                            passes += (g * geo.group + p * geo.pass < end) as u64;
                        }
                    }
                    let signs = 1 + signed as u64;
                    let expect =
                        batch as u64 * signs * passes * (geo.slices * geo.cycles * geo.ncol) as u64;
                    assert_eq!(cnt.adc_conversions, expect);
                }
            }
        }
    }
}

#[test]
fn float_precision_read_matches_float_matmul() {
    for mapping in [Mapping::Offset, Mapping::Differential] {
        for (k, n, batch) in [(1, 2, 1), (127, 9, 3), (129, 3, 1), (300, 5, 5)] {
            let mut cfg = ideal(mapping, 16, 8, 16, 2);
            cfg.array.parallel_rows = 8; // keeps every partial sum within the 16-bit unit ADC
            cfg.array.error_bits = 16;
            let w = values(n * k, 7 + k as u64, -1.0, 1.0);
            let layer = map_weights(&w, n, k, None, &cfg, 0, 0);
            let knobs = quiet(1);
            let x = values(batch * k, 8 + k as u64, 0.0, 2.0);
            let (y, cnt) = read_forward(&layer, &x, batch, 2.0, &cfg, &knobs, 0);
            assert_eq!(cnt.adc_clipped, 0);
            let e = values(batch * n, 9 + k as u64, -0.5, 0.5);
            let (yt, _) = read_transposed(&layer, &e, batch, 0.5, &cfg, &knobs, 0);
            let dw = layer.scale / 65535.0; // weight half step (offset: step 2s/M)
            for b in 0..batch {
                for j in 0..n {
                    let (mut f, mut bound) = (0f64, 0f64);
                    for i in 0..k {
                        let (wv, xv) = (w[j * k + i] as f64, x[b * k + i] as f64);
                        f += wv * xv;
                        bound += xv.abs() * dw as f64 + wv.abs() * 2.0 / 65535.0 / 2.0 + 1e-9;
                    }
                    let got = y[b * n + j] as f64;
                    assert!(
                        (got - f).abs() <= bound * 1.01 + 1e-6,
                        "fwd {mapping:?} k {k}: {got} vs {f}"
                    );
                }
                for i in 0..k {
                    let (mut f, mut bound) = (0f64, 0f64);
                    for j in 0..n {
                        let (wv, ev) = (w[j * k + i] as f64, e[b * n + j] as f64);
                        f += wv * ev;
                        bound += ev.abs() * dw as f64 + wv.abs() * 0.5 / 65535.0 / 2.0 + 1e-9;
                    }
                    let got = yt[b * k + i] as f64;
                    assert!(
                        (got - f).abs() <= bound * 1.01 + 1e-6,
                        "bwd {mapping:?} k {k}: {got} vs {f}"
                    );
                }
            }
        }
    }
}

#[test]
fn unit_adc_saturates_at_full_code() {
    // Differential, w = s everywhere: + cells at level 3 in every 2-bit slice, - cells at 0.
    // Each conversion of a + column sees rows * 3 levels; 21 rows give 63 (fits 6 bits), 22 give 66.
    for (k, clip) in [(21usize, false), (22, true)] {
        let mut cfg = ideal(Mapping::Differential, 8, 2, 8, 1);
        cfg.array.adc_bits = 6;
        let (n, batch) = (3usize, 2usize);
        let layer = map_weights(&vec![1.0; n * k], n, k, None, &cfg, 0, 0);
        let x = vec![1.0; batch * k];
        let (raw, cnt) = read_raw(
            &layer,
            Direction::Forward,
            &ReadInput::new(&x, batch, 1.0),
            &cfg,
            &quiet(0),
        );
        let conv = (batch * 4 * 8 * 2 * n) as u64; // batch x slices x cycles x columns
        assert_eq!(cnt.adc_conversions, conv);
        assert_eq!(
            cnt.adc_clipped,
            if clip { (batch * 4 * 8 * n) as u64 } else { 0 }
        );
        // Every + conversion reads 63 (exact or saturated): 63 * sum_k 4^k * sum_t 2^t.
        let want = 63.0 * 85.0 * 255.0;
        assert!(raw.iter().all(|&r| r == want), "{raw:?}");
        assert_eq!(cnt.active_rows, (batch * 8 * k) as u64);
    }
}

fn rms_error(
    cfg: &insitu::xbar::Xbar,
    w: &[f32],
    x: &[f32],
    n: usize,
    k: usize,
    batch: usize,
) -> f64 {
    let layer = map_weights(w, n, k, None, cfg, 0, 0);
    let (y, _) = read_forward(&layer, x, batch, 1.0, cfg, &quiet(0), 0);
    let mut se = 0f64;
    for b in 0..batch {
        for j in 0..n {
            let f: f64 = (0..k)
                .map(|i| w[j * k + i] as f64 * x[b * k + i] as f64)
                .sum();
            se += (y[b * n + j] as f64 - f).powi(2);
        }
    }
    (se / (batch * n) as f64).sqrt()
}

#[test]
fn fewer_adc_bits_degrade_monotonically() {
    let (k, n, batch) = (256, 32, 8);
    let w = values(n * k, 3, -1.0, 1.0);
    let x = values(batch * k, 4, 0.0, 1.0);
    // `full`: the LSB halves with every bit, so the error falls monotonically.
    let mut errs = Vec::new();
    for bits in 3..=12 {
        let mut cfg = ideal(Mapping::Offset, 8, 2, 8, 1);
        cfg.array.adc_mode = AdcMode::Full;
        cfg.array.adc_bits = bits;
        errs.push(rms_error(&cfg, &w, &x, n, k, batch));
    }
    for p in errs.windows(2) {
        assert!(p[1] <= p[0], "{errs:?}");
    }
    assert!(errs[0] > 100.0 * errs[errs.len() - 1], "{errs:?}");
    // `unit`: clipped conversions fall monotonically to none; the error is not monotone there
    // (a clipped data column against an equally clipped reference can cancel), but few bits lose.
    let (mut clips, mut errs) = (Vec::new(), Vec::new());
    for bits in 3..=12 {
        let mut cfg = ideal(Mapping::Offset, 8, 2, 8, 1);
        cfg.array.adc_bits = bits;
        let layer = map_weights(&w, n, k, None, &cfg, 0, 0);
        clips.push(
            read_forward(&layer, &x, batch, 1.0, &cfg, &quiet(0), 0)
                .1
                .adc_clipped,
        );
        errs.push(rms_error(&cfg, &w, &x, n, k, batch));
    }
    for p in clips.windows(2) {
        assert!(p[1] <= p[0], "{clips:?}");
    }
    assert!(clips[0] > 0 && clips[clips.len() - 1] == 0, "{clips:?}");
    assert!(errs[0] > 100.0 * errs[errs.len() - 1], "{errs:?}");
}

#[test]
fn calibrated_range_covers_the_chosen_percentile() {
    let (k, n, batch) = (200, 16, 4);
    let mut cfg = ideal(Mapping::Offset, 8, 2, 8, 1);
    cfg.array.adc_mode = AdcMode::Calibrated;
    cfg.array.adc_bits = 5;
    cfg.array.adc_percentile = 100.0;
    let w = values(n * k, 5, -1.0, 1.0);
    let x = values(batch * k, 6, 0.0, 1.0);
    let mut layer = map_weights(&w, n, k, None, &cfg, 0, 0);
    let range = calibrate(
        &mut layer,
        Direction::Forward,
        &ReadInput::new(&x, batch, 1.0),
        &cfg,
        &quiet(0),
    );
    assert!(range > 0.0 && range <= 128.0 * 3.0);
    assert_eq!(layer.adc_range_fwd, Some(range));
    let (_, cnt) = read(
        &layer,
        Direction::Forward,
        &ReadInput::new(&x, batch, 1.0),
        &cfg,
        &quiet(0),
    );
    // Data columns never exceed the 100th percentile; the reference columns may.
    let refs_per_read = (2 * 4 * 8 * 2) as u64 * batch as u64; // 2 refs x slices x cycles x groups
    assert!(cnt.adc_clipped <= refs_per_read, "{cnt:?}");
    cfg.array.adc_mode = AdcMode::Full;
    let calibrated = rms_error_layer(&layer, &cfg, &w, &x, n, k, batch, AdcMode::Calibrated);
    let full = rms_error_layer(&layer, &cfg, &w, &x, n, k, batch, AdcMode::Full);
    assert!(calibrated < full, "calibrated {calibrated} vs full {full}");
    // The range starts at the smallest partial sum, not at zero: the G_min pedestal of the
    // active rows gets no codes, so the same bits resolve the spread more finely.
    let r = layer.adc_range(Direction::Forward).unwrap();
    assert!(r.lo > 0.0 && r.lo < r.hi, "{r:?}");
    let mut from_zero = layer.clone();
    from_zero.set_adc_range(
        Direction::Forward,
        Some(insitu::xbar::adc_range::AdcRange { lo: 0.0, hi: r.hi }),
    );
    let zero = rms_error_layer(&from_zero, &cfg, &w, &x, n, k, batch, AdcMode::Calibrated);
    assert!(calibrated < zero, "[lo, hi] {calibrated} vs [0, hi] {zero}");
}

/// All-equal partial sums (zero inputs) leave a degenerate range; the read then uses the full
/// range instead of clipping every conversion.
#[test]
fn degenerate_calibration_falls_back_to_full_range() {
    let (k, n, batch) = (64, 8, 2);
    let mut cfg = ideal(Mapping::Offset, 5, 5, 8, 1);
    cfg.array.adc_mode = AdcMode::Calibrated;
    cfg.device.on_off = 10.0;
    let w = values(n * k, 8, -1.0, 1.0);
    let mut layer = map_weights(&w, n, k, None, &cfg, 0, 0);
    let zeros = vec![0.0; batch * k];
    calibrate(
        &mut layer,
        Direction::Forward,
        &ReadInput::new(&zeros, batch, 1.0),
        &cfg,
        &quiet(0),
    );
    let x = values(batch * k, 9, 0.0, 1.0);
    let (_, cnt) = read_forward(&layer, &x, batch, 1.0, &cfg, &quiet(0), 0);
    assert_eq!(cnt.adc_clipped, 0, "{cnt:?}");
    assert_eq!(
        insitu::xbar::adc::adc_step(&layer, Direction::Forward, &cfg),
        {
            let mut f = cfg.clone();
            f.array.adc_mode = AdcMode::Full;
            insitu::xbar::adc::adc_step(&layer, Direction::Forward, &f)
        }
    );
}

#[allow(clippy::too_many_arguments)]
fn rms_error_layer(
    layer: &insitu::xbar::LayerCells,
    cfg: &insitu::xbar::Xbar,
    w: &[f32],
    x: &[f32],
    n: usize,
    k: usize,
    batch: usize,
    mode: AdcMode,
) -> f64 {
    let mut c = cfg.clone();
    c.array.adc_mode = mode;
    let (y, _) = read_forward(layer, x, batch, 1.0, &c, &quiet(0), 0);
    let mut se = 0f64;
    for b in 0..batch {
        for j in 0..n {
            let f: f64 = (0..k)
                .map(|i| w[j * k + i] as f64 * x[b * k + i] as f64)
                .sum();
            se += (y[b * n + j] as f64 - f).powi(2);
        }
    }
    (se / (batch * n) as f64).sqrt()
}

/// `minmax`: every conversion lands within one LSB (step = range / 2^b_a) below its partial sum,
/// so the read differs from the exact integer product by at most
/// sum over (sign, group, pass, slice, cycle) of 2^(c k + d t) (2 step_data + 2 step_ref) (offset;
/// step_data + step_data differential), with step <= the pass's largest possible sum / 2^b_a.
/// Nothing clips; more bits shrink the error.
#[test]
fn minmax_reproduces_partial_sums_within_one_lsb() {
    let mut case = 500u64;
    for mapping in [Mapping::Offset, Mapping::Differential] {
        for (wb, cb, ib, db, par) in [(8, 2, 8, 1, 128), (6, 3, 5, 2, 48), (4, 4, 4, 1, 17)] {
            for (k, n, batch) in [(1, 3, 1), (129, 5, 3), (300, 70, 2)] {
                case += 1;
                let mut errs = Vec::new();
                for bits in [6u32, 16] {
                    let mut cfg = ideal(mapping, wb, cb, ib, db);
                    cfg.array.parallel_rows = par;
                    cfg.array.adc_mode = AdcMode::MinMax;
                    (cfg.array.adc_bits, cfg.array.adc_bits_backward) = (bits, bits);
                    cfg.device.on_off = 20.0;
                    let w = values(n * k, case, -0.7, 0.7);
                    let layer = map_weights(&w, n, k, None, &cfg, 0, 1);
                    let knobs = quiet(case);
                    let mut worst = 0f64;
                    for dir in [Direction::Forward, Direction::Transposed] {
                        let lines = if dir == Direction::Forward { k } else { n };
                        let x = values(batch * lines, case + 7, -1.0, 1.0);
                        let signed = dir == Direction::Transposed;
                        let (raw, cnt) = read_raw(
                            &layer,
                            dir,
                            &ReadInput::new(&x, batch, 1.0).signed(signed),
                            &cfg,
                            &knobs,
                        );
                        assert_eq!(cnt.adc_clipped, 0);
                        let mut x_ref = x.clone();
                        if !signed {
                            x_ref.iter_mut().for_each(|v| *v = v.max(0.0));
                        }
                        let want = int_matmul(&w, n, k, &x_ref, batch, 1.0, &cfg, dir, layer.scale);
                        let geo = insitu::xbar::geometry::geometry(&layer, dir, &cfg);
                        let levels =
                            ((1u32 << cb) - 1) as f64 + layer.g_min as f64 / layer.unit() as f64;
                        let digit = ((1u32 << db) - 1) as f64;
                        let step = geo.pass as f64 * digit * levels / (1u64 << bits) as f64;
                        let mut weights = 0f64;
                        for kk in 0..geo.slices {
                            for t in 0..geo.cycles {
                                weights += (1u64 << (cb as usize * kk + db as usize * t)) as f64;
                            }
                        }
                        let per_tensor = if mapping == Mapping::Offset { 4.0 } else { 2.0 };
                        let passes = (geo.n_groups * geo.n_pass) as f64;
                        let bound =
                            (1 + signed as usize) as f64 * passes * weights * per_tensor * step;
                        for (r, w) in raw.iter().zip(&want) {
                            let e = (r - *w as f64).abs();
                            assert!(
                                e <= bound * (1.0 + 1e-9),
                                "{mapping:?} {wb}/{cb} k {k} n {n} {dir:?} {bits} bits: {r} vs {w} (bound {bound})"
                            );
                            worst = worst.max(e / bound.max(1e-30));
                        }
                    }
                    errs.push(worst);
                }
                // Relative to its own bound the error stays within the bound at both widths.
                assert!(errs.iter().all(|&e| e <= 1.0 + 1e-9), "{errs:?}");
            }
        }
    }
}
