//! The GEMM formulation of the read (`xbar::fast_read`) against the reference loop: raw outputs,
//! counters and calibrated ranges bit-identical on awkward shapes, every mapping, signed and
//! transposed reads, noise on and off, populations and programming through the backend cache.

use crate::common::xbar as common;

use common::*;
use insitu::backend::Backend;
use insitu::backend::{MatView, XbarRead};
use insitu::config::{AdcMode, Mapping, Rounding};
use insitu::cpu::CpuBackend;
use insitu::xbar::direction::Direction;
use insitu::xbar::mapping::{map_for_training, map_weights};
use insitu::xbar::read::{calibrate, calibration_range_reference, read_raw, read_raw_reference};
use insitu::xbar::read_input::ReadInput;
use insitu::xbar::{Knobs, LayerCells, Xbar};

/// Device variants: (name, d2d, stuck_off, stuck_on, drift nu, read noise, output noise).
/// "per-cell drift" adds a state-dependent exponent with a device spread and growing read noise.
const DEVICES: [(&str, f64, f64, f64, f64, f64, f64); 6] = [
    ("quiet", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    ("frozen", 0.1, 0.02, 0.01, 0.05, 0.0, 0.0),
    ("output noise", 0.0, 0.0, 0.0, 0.0, 0.0, 0.7),
    ("read noise", 0.0, 0.0, 0.0, 0.0, 0.03, 0.0),
    ("all", 0.05, 0.01, 0.01, 0.02, 0.02, 0.3),
    ("per-cell drift", 0.05, 0.01, 0.01, 0.05, 0.01, 0.0),
];

fn with_device(mut cfg: Xbar, dev: usize) -> Xbar {
    let (_, d2d, off, on, nu, rn, on_) = DEVICES[dev];
    let d = &mut cfg.device;
    d.on_off = 10.0;
    d.d2d = d2d;
    d.stuck_off = off;
    d.stuck_on = on;
    d.drift.nu = nu;
    d.drift.t = if nu > 0.0 { 1e4 } else { 1.0 };
    d.read_noise = rn;
    d.output_noise = on_;
    if DEVICES[dev].0 == "per-cell drift" {
        d.drift.nu_state = 0.04;
        d.drift.nu_d2d = 0.02;
        d.drift.read_noise_growth = 0.1;
    }
    cfg
}

fn knobs(cfg: &Xbar, seed: u64) -> Knobs {
    Knobs::from_device(&cfg.device, 0.1, seed)
}

/// Elements that differ (sizes must match).
fn mismatches<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    assert_eq!(a.len(), b.len(), "lengths");
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// Reads `layer` both ways and asserts bit-identical results.
fn check(layer: &LayerCells, cfg: &Xbar, k: &Knobs, batch: usize, seed: u64, what: &str) {
    for dir in [Direction::Forward, Direction::Transposed] {
        for signed in [false, true] {
            let lines = match dir {
                Direction::Forward => layer.fan_in,
                Direction::Transposed => layer.fan_out,
            };
            let x = values(batch * lines, seed, -0.6, 1.0);
            let inp = ReadInput {
                x: &x,
                batch,
                x_max: 0.9,
                signed,
                read_counter: seed as u32,
            };
            let want = read_raw_reference(layer, dir, &inp, cfg, k);
            let got = read_raw(layer, dir, &inp, cfg, k);
            assert_eq!(got.1, want.1, "{what} {dir:?} signed {signed}: counters");
            assert_eq!(
                mismatches(&got.0, &want.0),
                0,
                "{what} {dir:?} signed {signed}: raw"
            );
            if cfg.array.adc_mode == AdcMode::Calibrated {
                let mut l = layer.clone();
                let cal = inp.counter(3);
                let r = calibrate(&mut l, dir, &cal, cfg, k);
                let want = calibration_range_reference(layer, dir, &cal, cfg, k);
                assert_eq!(
                    (r, l.adc_range(dir)),
                    (want.hi, Some(want)),
                    "{what} {dir:?} signed {signed}: calibrated range"
                );
                // The read through the calibrated [lo, hi] range (floor, clipping below).
                let want = read_raw_reference(&l, dir, &inp, cfg, k);
                let got = read_raw(&l, dir, &inp, cfg, k);
                assert_eq!(
                    got.1, want.1,
                    "{what} {dir:?} signed {signed}: calibrated counters"
                );
                assert_eq!(
                    mismatches(&got.0, &want.0),
                    0,
                    "{what} {dir:?} signed {signed}: calibrated raw"
                );
            }
        }
    }
}

#[test]
fn inference_mapping_matches_reference_bit_for_bit() {
    let mut case = 0u64;
    for mapping in [Mapping::Offset, Mapping::Differential] {
        // (weight bits, cell bits, input bits, dac bits, rows, cols, parallel rows, adc bits,
        // adc mode)
        for &(wb, cb, ib, db, rows, cols, par, ab, mode) in &[
            (8, 2, 8, 1, 64, 64, 64, 6, AdcMode::Full),
            (5, 5, 8, 1, 128, 128, 128, 6, AdcMode::Calibrated),
            (6, 3, 5, 2, 48, 40, 17, 4, AdcMode::Unit),
            (4, 4, 7, 3, 33, 64, 33, 9, AdcMode::Full),
            (8, 8, 8, 8, 128, 128, 128, 9, AdcMode::Full),
            (3, 1, 4, 1, 16, 16, 5, 3, AdcMode::Calibrated),
            (8, 2, 8, 1, 64, 64, 64, 5, AdcMode::MinMax),
            (6, 3, 5, 2, 48, 40, 17, 3, AdcMode::MinMax),
        ] {
            for (k_in, n_out, batch) in [(1, 3, 1), (100, 7, 3), (129, 33, 5), (70, 130, 2)] {
                for (dev, device) in DEVICES.iter().enumerate() {
                    case += 1;
                    let mut cfg = ideal(mapping, wb, cb, ib, db);
                    let a = &mut cfg.array;
                    (a.rows, a.cols, a.parallel_rows) = (rows, cols, par);
                    (a.adc_bits, a.adc_bits_backward, a.adc_mode) = (ab, ab, mode);
                    a.adc_percentile = 99.0;
                    let cfg = with_device(cfg, dev);
                    let w = values(n_out * k_in, case, -1.0, 1.0);
                    let layer = map_weights(&w, n_out, k_in, None, &cfg, 1, 2);
                    let what = format!(
                        "case {case} {mapping:?} {wb}/{cb} bits, {ib}/{db} in, {rows}x{cols}/{par}, \
                         {ab}-bit {mode:?}, {k_in}x{n_out} batch {batch}, {}",
                        device.0
                    );
                    check(&layer, &cfg, &knobs(&cfg, case), batch, case + 50, &what);
                }
            }
        }
    }
}

fn training_cfg(mapping: Mapping, dev: usize) -> Xbar {
    let mut cfg = ideal(mapping, 5, 5, 8, 1);
    let a = &mut cfg.array;
    (a.rows, a.cols, a.parallel_rows) = (64, 64, 32);
    (a.adc_bits, a.adc_bits_backward, a.adc_mode) = (6, 8, AdcMode::Calibrated);
    a.error_bits = 8;
    let mut cfg = with_device(cfg, dev);
    let d = &mut cfg.device;
    (d.levels, d.nl_ltp, d.nl_ltd, d.c2c) = (32, 1.75, -1.46, 0.003);
    d.rounding = Rounding::Stochastic;
    cfg
}

#[test]
fn analog_cells_match_reference_bit_for_bit() {
    let mut case = 1000u64;
    for mapping in [Mapping::Offset, Mapping::Differential] {
        for (k_in, n_out, batch) in [(150, 70, 9), (64, 10, 64), (13, 200, 4)] {
            for (dev, device) in DEVICES.iter().enumerate() {
                case += 1;
                let cfg = training_cfg(mapping, dev);
                let k = knobs(&cfg, case);
                let w = values(n_out * k_in, case, -0.5, 0.5);
                let layer = map_for_training(&w, n_out, k_in, 0.5, &cfg, &k, 0, 3).unwrap();
                let what = format!("case {case} {mapping:?} {k_in}x{n_out} {}", device.0);
                check(&layer, &cfg, &k, batch, case, &what);
            }
        }
    }
}

/// A population read through the backend (with its conductance cache), programmed in between:
/// every instance equals the reference on its current cells.
#[test]
fn population_through_the_cache_follows_programming() {
    for dev in [0, 1, 4] {
        let cfg = training_cfg(Mapping::Differential, dev);
        let (k_in, n_out, p_n, rows) = (90usize, 40usize, 3usize, 6usize);
        let mut be = CpuBackend::new();
        let mut layers = Vec::new();
        let mut ks = Vec::new();
        for p in 0..p_n {
            let k = knobs(&cfg, 10 + p as u64);
            let w = values(n_out * k_in, 20 + p as u64, -0.5, 0.5);
            layers.push(map_for_training(&w, n_out, k_in, 0.5, &cfg, &k, p as u32, 1).unwrap());
            ks.push(k);
        }
        let id = be.xbar_create(&cfg, layers, ks.clone());
        for step in 0..3u32 {
            for dir in [Direction::Forward, Direction::Transposed] {
                let (lines, outs) = match dir {
                    Direction::Forward => (k_in, n_out),
                    Direction::Transposed => (n_out, k_in),
                };
                let xs = values(p_n * rows * lines, 40 + step as u64, -1.0, 1.0);
                let x = be.alloc(xs.len());
                be.write(x, &xs);
                let y = be.alloc(p_n * rows * outs);
                let view = |buf, ld: usize| MatView {
                    buf,
                    off: 0,
                    ld: ld as u32,
                    stride: (rows * ld) as u32,
                };
                let op = XbarRead {
                    dir,
                    signed: true,
                    rows: rows as u32,
                    read_counter: step,
                };
                be.xbar_read(id, view(x, lines), view(y, outs), &op);
                let ys = be.read(y);
                let cells = be.xbar_cells(id);
                for p in 0..p_n {
                    let xi = &xs[p * rows * lines..(p + 1) * rows * lines];
                    let range = insitu::backend::input_range(xi, true);
                    let inp = ReadInput {
                        x: xi,
                        batch: rows,
                        x_max: range,
                        signed: true,
                        read_counter: step,
                    };
                    let (raw, _) = read_raw_reference(&cells[p], dir, &inp, &cfg, &ks[p]);
                    let f = insitu::xbar::geometry::descale(&cells[p], dir, range, &cfg);
                    let want: Vec<f32> = raw.iter().map(|&r| (r * f) as f32).collect();
                    let got = &ys[p * rows * outs..(p + 1) * rows * outs];
                    assert_eq!(
                        mismatches(got, &want),
                        0,
                        "device {dev} step {step} instance {p} {dir:?}"
                    );
                }
            }
            let g = values(p_n * n_out * k_in, 60 + step as u64, -1.0, 1.0);
            let gb = be.alloc(g.len());
            be.write(gb, &g);
            let before = be.xbar_cells(id);
            be.xbar_program(id, gb, step);
            assert_ne!(before, be.xbar_cells(id), "programming changed nothing");
        }
    }
}

/// Above the exact limit the calibrated range comes from a histogram: within 2^-13 plus the
/// GEMM's bound of the reference.
#[test]
fn large_calibration_within_histogram_tolerance() {
    let mut cfg = ideal(Mapping::Offset, 5, 5, 8, 1);
    let a = &mut cfg.array;
    (a.rows, a.cols, a.parallel_rows) = (128, 128, 128);
    (a.adc_bits, a.adc_mode, a.adc_percentile) = (6, AdcMode::Calibrated, 99.9);
    let cfg = with_device(cfg, 0);
    let (k_in, n_out, batch) = (128, 256, 2100);
    let w = values(n_out * k_in, 5, -1.0, 1.0);
    let layer = map_weights(&w, n_out, k_in, None, &cfg, 0, 0);
    let x = values(batch * k_in, 6, 0.0, 1.0);
    let k = quiet(1);
    let mut l = layer.clone();
    let got = calibrate(
        &mut l,
        Direction::Forward,
        &ReadInput::new(&x, batch, 1.0),
        &cfg,
        &k,
    );
    let inp = ReadInput {
        x: &x,
        batch,
        x_max: 1.0,
        signed: false,
        read_counter: 0,
    };
    let want = calibration_range_reference(&layer, Direction::Forward, &inp, &cfg, &k);
    let tol = 2f32.powi(-13) + 300.0 * f32::EPSILON;
    let range = l.adc_range(Direction::Forward).expect("calibrated");
    assert_eq!(got, range.hi);
    for (g, w) in [(range.lo, want.lo), (range.hi, want.hi)] {
        // A zero end lands in the histogram's first bin (subnormals).
        let err = if w > 0.0 { ((g - w) / w).abs() } else { g };
        assert!(err <= tol, "histogram range {range:?} vs exact {want:?}");
    }
    assert!(want.lo > 0.0 && want.lo < want.hi, "{want:?}");
}

/// Column sums placed on ADC rounding boundaries (k + 1/2 LSB) with 8-bit input digits (the
/// products round in f32): the sum depends on the order and rounding of its terms there, so only
/// the reference-order recomputation keeps the codes.
#[test]
fn rounding_boundaries_keep_the_reference_codes() {
    let mut cfg = ideal(Mapping::Differential, 8, 8, 8, 8);
    let a = &mut cfg.array;
    (a.rows, a.cols, a.parallel_rows) = (128, 128, 128);
    let (k_in, n_out, batch) = (128usize, 1500usize, 2usize);
    let w = values(n_out * k_in, 9, -1.0, 1.0);
    let mut layer = map_weights(&w, n_out, k_in, None, &cfg, 0, 0);
    let unit = layer.unit() as f64;
    for set in 0..2 {
        for j in 0..n_out {
            let h = values(k_in, (set * n_out + j) as u64, 0.3, 0.9);
            let mut sum = 0f64;
            for (i, &hi) in h.iter().enumerate().take(k_in - 1) {
                let g = (hi as f64 * unit) as f32;
                let idx = layer.cell_index(set, j, i, 0);
                layer.cells[idx] = g;
                sum += g as f64;
            }
            let target = ((255.0 * sum / unit).floor() + 1.5) * unit / 255.0;
            let idx = layer.cell_index(set, j, k_in - 1, 0);
            layer.cells[idx] = (target - sum) as f32;
        }
    }
    let x = vec![1.0f32; batch * k_in];
    let k = quiet(1);
    let inp = ReadInput {
        x: &x,
        batch,
        x_max: 1.0,
        signed: false,
        read_counter: 0,
    };
    let want = read_raw_reference(&layer, Direction::Forward, &inp, &cfg, &k);
    let got = read_raw(
        &layer,
        Direction::Forward,
        &ReadInput::new(&x, batch, 1.0),
        &cfg,
        &k,
    );
    assert_eq!(got.1, want.1, "counters");
    assert_eq!(mismatches(&got.0, &want.0), 0, "raw");
}
