//! The one-pass calibrating read (`calibrate_read_with`) against a calibration read followed by
//! a plain read: the same calibrated range and bit-identical outputs and counters, below and
//! above the exact-percentile limit, with and without noise and frozen device draws.

use crate::common::xbar as common;

use common::*;
use insitu::config::{AdcMode, Mapping};
use insitu::xbar::mapping::map_weights;
use insitu::xbar::read::{calibrate_read_with, calibrate_with, packed, read_with};
use insitu::xbar::read_input::ReadInput;
use insitu::xbar::{Direction, Knobs, Xbar};

/// A 5-bit, one-cell array with 128-row groups and a 6-bit calibrated ADC, on a device with
/// d2d spread and stuck cells (`frozen`), output noise and read noise as given.
fn config(mapping: Mapping, frozen: bool, output_noise: f64, read_noise: f64) -> Xbar {
    let mut cfg = ideal(mapping, 5, 5, 8, 1);
    let a = &mut cfg.array;
    (a.rows, a.cols, a.parallel_rows) = (128, 128, 64);
    (a.adc_bits, a.adc_bits_backward, a.adc_mode) = (6, 8, AdcMode::Calibrated);
    a.adc_percentile = 99.5;
    let d = &mut cfg.device;
    d.on_off = 10.0;
    if frozen {
        (d.d2d, d.stuck_off, d.stuck_on) = (0.1, 0.02, 0.01);
    }
    (d.output_noise, d.read_noise) = (output_noise, read_noise);
    cfg
}

/// Both ways of calibrating and reading `x` (`[batch][lines]`) give the same range and read.
fn check(cfg: &Xbar, k_in: usize, n_out: usize, batch: usize, seed: u64, what: &str) {
    check_inputs(cfg, (k_in, n_out, batch), seed, (-0.5, 1.0), what);
}

/// `check` with inputs uniform in `x_range` (a constant where both ends are equal).
fn check_inputs(
    cfg: &Xbar,
    (k_in, n_out, batch): (usize, usize, usize),
    seed: u64,
    (x_lo, x_hi): (f32, f32),
    what: &str,
) {
    let k = Knobs::from_device(&cfg.device, 0.1, seed);
    let w = values(n_out * k_in, seed, -1.0, 1.0);
    let layer = map_weights(&w, n_out, k_in, None, cfg, 0, 1);
    for dir in [Direction::Forward, Direction::Transposed] {
        for signed in [false, true] {
            let lines = match dir {
                Direction::Forward => k_in,
                Direction::Transposed => n_out,
            };
            let x = values(batch * lines, seed + 7, x_lo, x_hi);
            let inp = ReadInput {
                x: &x,
                batch,
                x_max: 1.0,
                signed,
                read_counter: 5,
            };
            let eff = packed(&layer, dir, cfg, &k);
            let mut two = layer.clone();
            let cal = ReadInput {
                read_counter: 0,
                ..inp
            };
            calibrate_with(&mut two, dir, &cal, cfg, &k, &eff);
            let want = read_with(&two, dir, &inp, cfg, &k, &eff);
            let mut one = layer.clone();
            let got = calibrate_read_with(&mut one, dir, &inp, cfg, &k, &eff);
            let case = format!("{what} {dir:?} signed {signed}");
            assert_eq!(one.adc_range(dir), two.adc_range(dir), "{case}: range");
            assert!(one.adc_range(dir).is_some(), "{case}: calibrated");
            assert_eq!(got.1, want.1, "{case}: counters");
            let differ = got.0.iter().zip(&want.0).filter(|(a, b)| a != b).count();
            assert_eq!((got.0.len(), differ), (want.0.len(), 0), "{case}: outputs");
        }
    }
}

#[test]
fn one_pass_equals_calibration_then_read() {
    let mut seed = 40;
    for mapping in [Mapping::Offset, Mapping::Differential] {
        // (frozen draws, output noise, read noise): read noise takes the two-pass fallback.
        for (frozen, on, rn) in [
            (false, 0.0, 0.0),
            (true, 0.0, 0.0),
            (false, 0.6, 0.0),
            (true, 0.3, 0.02),
        ] {
            for (k_in, n_out, batch) in [(200, 30, 7), (70, 130, 3), (1, 5, 2)] {
                seed += 1;
                let cfg = config(mapping, frozen, on, rn);
                let what = format!("{mapping:?} frozen {frozen} noise {on}/{rn} {k_in}x{n_out}");
                check(&cfg, k_in, n_out, batch, seed, &what);
            }
        }
    }
}

/// Above `percentile::EXACT_LIMIT` sums (a conv layer's read) the range comes from the
/// histogram, binned from the kept products: the same bins, so the same range.
#[test]
fn one_pass_equals_calibration_then_read_above_the_exact_limit() {
    let cfg = config(Mapping::Offset, false, 0.0, 0.0);
    // Forward: 1400 samples x 8 cycles x 3 passes x 130 data columns > 2^22 (unsigned).
    check(&cfg, 150, 130, 1400, 90, "histogram");
}

/// The blocks and steps of the one-pass read follow the thread count and the batch: uneven
/// blocks, several steps per block with a short last one, signed inputs, several passes, below
/// and above the exact-percentile limit, on one to three threads.
#[test]
fn one_pass_equals_calibration_then_read_on_any_thread_count() {
    let cfg = config(Mapping::Differential, true, 0.0, 0.0);
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| {
            for (k_in, n_out, batch, seed) in [(300, 40, 301, 120), (129, 17, 97, 121)] {
                let what = format!("{threads} threads {k_in}x{n_out} batch {batch}");
                check(&cfg, k_in, n_out, batch, seed, &what);
            }
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .expect("thread pool");
    pool.install(|| {
        check(
            &config(Mapping::Offset, false, 0.0, 0.0),
            150,
            130,
            1403,
            122,
            "3 threads histogram",
        )
    });
}

/// Above the exact limit, sums that are all zero (the percentiles' coarse bin holds only
/// zeros) and sums none of which is zero in the unsigned reads (every input at full scale).
#[test]
fn one_pass_equals_calibration_then_read_on_all_zero_and_no_zero_sums() {
    let cfg = config(Mapping::Offset, false, 0.0, 0.0);
    let shape = (150, 130, 1400);
    check_inputs(&cfg, shape, 91, (0.0, 0.0), "all-zero sums");
    check_inputs(&cfg, shape, 92, (1.0, 1.0), "no zero sum");
}
