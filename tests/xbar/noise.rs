//! Device nonidealities seen through the read: d2d, read noise, output noise, stuck cells, drift,
//! and reproducibility by seed.

use crate::common::xbar as common;

use common::*;
use insitu::config::Mapping;
use insitu::xbar::direction::Direction;
use insitu::xbar::mapping::map_weights;
use insitu::xbar::read::read_raw;
use insitu::xbar::read_input::ReadInput;
use insitu::xbar::{Knobs, LayerCells, Xbar};

/// One row, many columns, one 8-bit cell per weight: each output reads one cell at level 255
/// (differential, w = s) with a 1-bit input, in levels.
fn probe(n: usize) -> (Xbar, LayerCells, Vec<f32>) {
    let mut cfg = ideal(Mapping::Differential, 8, 8, 1, 1);
    cfg.array.adc_bits = 10;
    let layer = map_weights(&vec![1.0; n], n, 1, None, &cfg, 3, 2);
    (cfg, layer, vec![1.0])
}

fn raw(cfg: &Xbar, layer: &LayerCells, x: &[f32], knobs: &Knobs, rc: u32) -> Vec<f64> {
    read_raw(
        layer,
        Direction::Forward,
        &ReadInput::new(x, 1, 1.0).counter(rc),
        cfg,
        knobs,
    )
    .0
}

#[test]
fn d2d_is_frozen_and_has_its_sigma() {
    let (cfg, layer, x) = probe(8000);
    let knobs = Knobs {
        d2d: 0.05,
        ..quiet(11)
    };
    let a = raw(&cfg, &layer, &x, &knobs, 0);
    let b = raw(&cfg, &layer, &x, &knobs, 1);
    assert_eq!(a, b, "d2d must not change between reads");
    let rel: Vec<f64> = a.iter().map(|r| r / 255.0).collect();
    let (m, s) = mean_std(&rel);
    assert!((m - 1.0).abs() < 0.003, "mean {m}");
    assert!((s - 0.05).abs() < 0.05 * 0.05, "sigma {s}");
    // Another instance draws other devices.
    let other = LayerCells {
        instance: 4,
        ..layer.clone()
    };
    assert_ne!(raw(&cfg, &other, &x, &knobs, 0), a);
}

#[test]
fn read_noise_changes_per_read_and_has_its_sigma() {
    let (cfg, layer, x) = probe(4000);
    let knobs = Knobs {
        read_noise: 0.04,
        ..quiet(12)
    };
    let mut all = Vec::new();
    let first = raw(&cfg, &layer, &x, &knobs, 0);
    assert_eq!(
        first,
        raw(&cfg, &layer, &x, &knobs, 0),
        "same read counter, same draws"
    );
    for rc in 0..3 {
        let r = raw(&cfg, &layer, &x, &knobs, rc);
        if rc > 0 {
            assert_ne!(r, first);
        }
        all.extend(r.iter().map(|v| v / 255.0));
    }
    let (m, s) = mean_std(&all);
    assert!((m - 1.0).abs() < 0.002, "mean {m}");
    assert!((s - 0.04).abs() < 0.04 * 0.04, "sigma {s}");
}

#[test]
fn output_noise_has_its_sigma_in_lsb() {
    // Offset mapping, 8-bit cells: raw_j = 2 code_j - code_lo - code_hi. Within one read the
    // reference codes are common to all outputs, so the spread across outputs is that of
    // 2 code_j: 2 sqrt(sigma^2 + 1/12) (rounding adds 1/12 LSB^2); the references move per read.
    let (n, reads) = (400, 64u32);
    let mut cfg = ideal(Mapping::Offset, 8, 8, 1, 1);
    cfg.array.adc_bits = 10;
    let layer = map_weights(&vec![0.6; n], n, 1, None, &cfg, 0, 0);
    let sigma = 2.0f64;
    let knobs = Knobs {
        output_noise: sigma as f32,
        ..quiet(13)
    };
    let (mut within, mut means) = (0f64, Vec::new());
    for rc in 0..reads {
        let r = raw(&cfg, &layer, &[1.0], &knobs, rc);
        let (m, s) = mean_std(&r);
        within += s * s;
        means.push(m);
    }
    let within = (within / reads as f64).sqrt();
    let want = 2.0 * (sigma * sigma + 1.0 / 12.0).sqrt();
    assert!(
        (within - want).abs() < 0.03 * want,
        "sigma {within}, want {want}"
    );
    // w = s -> X = 255 -> 2X - M = 255; per-read means scatter by sqrt(2) sigma_code.
    let (m, s) = mean_std(&means);
    let ref_sigma = (2.0 * (sigma * sigma + 1.0 / 12.0)).sqrt();
    assert!(
        (m - 255.0).abs() < 4.0 * ref_sigma / (reads as f64).sqrt(),
        "mean {m}"
    );
    assert!(
        (s - ref_sigma).abs() < 0.3 * ref_sigma,
        "reference spread {s}, want {ref_sigma}"
    );
}

#[test]
fn stuck_fractions() {
    let (mut cfg, _, x) = probe(1);
    cfg.device.stuck_on = 0.1;
    cfg.device.stuck_off = 0.2;
    // + cell at level 128 (w = s/2), - cell at 0; out = plus - minus in levels.
    // Stuck-on sets a cell to 255, stuck-off to 0; draws are independent per cell.
    let n = 20000;
    let half = map_weights(&vec![0.5; n], n, 1, Some(1.0), &cfg, 0, 0);
    let r = raw(&cfg, &half, &x, &quiet(14), 0);
    let frac = |v: f64| r.iter().filter(|&&a| a == v).count() as f64 / n as f64;
    assert!(
        (frac(255.0) - 0.1 * 0.9).abs() < 0.01,
        "stuck-on {}",
        frac(255.0)
    );
    assert!(
        (frac(128.0) - 0.7 * 0.9).abs() < 0.015,
        "healthy {}",
        frac(128.0)
    );
    assert!(
        (frac(0.0) - (0.2 * 0.9 + 0.1 * 0.1)).abs() < 0.01,
        "zero {}",
        frac(0.0)
    );
}

#[test]
fn drift_scales_conductance() {
    let (mut cfg, layer, x) = probe(16);
    cfg.device.drift.nu = 0.05;
    cfg.device.drift.t = 1000.0;
    let r = raw(&cfg, &layer, &x, &quiet(0), 0);
    let want = (255.0 * 1000f64.powf(-0.05) + 0.5).floor();
    assert!(r.iter().all(|&v| v == want), "{r:?} vs {want}");
}

#[test]
fn a_seed_reproduces_a_noisy_read() {
    let (cfg, layer, x) = probe(500);
    let k = Knobs {
        d2d: 0.03,
        read_noise: 0.02,
        output_noise: 0.5,
        ..quiet(21)
    };
    assert_eq!(raw(&cfg, &layer, &x, &k, 5), raw(&cfg, &layer, &x, &k, 5));
    assert_ne!(
        raw(&cfg, &layer, &x, &k, 5),
        raw(&cfg, &layer, &x, &Knobs { seed: 22, ..k }, 5)
    );
}

/// Drift with a per-device exponent spread: a frozen multiplicative error that grows with time
/// (log-normal with sigma nu_d2d ln t around t^(-nu)), and compensation restores the mean.
#[test]
fn drift_spread_grows_with_time_and_compensation_restores_the_mean() {
    let (mut cfg, layer, x) = probe(4000);
    cfg.device.drift.nu = 0.05;
    cfg.device.drift.nu_d2d = 0.02;
    let knobs = quiet(21);
    let base = raw(&cfg, &layer, &x, &knobs, 0);
    let mut prev_sigma = 0.0;
    for t in [1e2, 1e4, 1e6] {
        cfg.device.drift.t = t;
        let r: Vec<f64> = raw(&cfg, &layer, &x, &knobs, 0)
            .iter()
            .zip(&base)
            .map(|(a, b)| a / b)
            .collect();
        let (m, s) = mean_std(&r);
        let ln_t = f64::ln(t);
        // E[e^(-nu_i ln t)] = t^(-nu) e^((nu_d2d ln t)^2 / 2) for a normal exponent.
        let want = (-0.05 * ln_t + 0.5 * (0.02 * ln_t).powi(2)).exp();
        assert!((m / want - 1.0).abs() < 0.01, "t {t}: mean {m} vs {want}");
        assert!(s > prev_sigma, "t {t}: spread {s} did not grow");
        prev_sigma = s;
        let mut l = layer.clone();
        let mut c = cfg.clone();
        c.device.drift.compensate = true;
        insitu::xbar::drift_compensation::calibrate_gain(&mut l, &c, &knobs);
        assert!(
            (l.drift_gain as f64 * m - 1.0).abs() < 0.01,
            "t {t}: gain {}",
            l.drift_gain
        );
    }
}
