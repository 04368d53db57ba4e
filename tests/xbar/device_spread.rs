//! Device-to-device spread of the up/down asymmetry and of the conductance bounds, and the
//! output-referred read noise: sample statistics against the configured sigmas and closed forms.

use crate::common::xbar as common;

use common::*;
use insitu::config::{AdcMode, C2cLaw, DeviceConfig, Mapping, ReadNoiseModel};
use insitu::rng::Purpose;
use insitu::xbar::device::{apply_update, g_after_ltp, CellCurve};
use insitu::xbar::direction::Direction;
use insitu::xbar::draws::stream_key;
use insitu::xbar::mapping::{cell_curve, map_weights};
use insitu::xbar::read::read_raw;
use insitu::xbar::read_input::ReadInput;
use insitu::xbar::Knobs;

fn std_of(v: &[f64]) -> (f64, f64) {
    mean_std(v)
}

/// Frozen per-cell spreads: up_down ~ N(0, up_down_d2d), G_max,i / G_max ~ N(1, bounds_d2d),
/// G_min,i / G_min ~ N(1, bounds_d2d), independent of each other.
#[test]
fn spread_statistics_match_sigma() {
    let (sud, sb) = (0.1f32, 0.05f32);
    let knobs = Knobs {
        up_down_d2d: sud,
        bounds_d2d: sb,
        ..Knobs::from_device(&DeviceConfig::default(), 0.1, 7)
    };
    let base = CellCurve::nominal(101, 10.0, 0.0, 0.0);
    let key = stream_key(7, Purpose::NlD2d, 0, 3);
    let n = 20000;
    let cells: Vec<CellCurve> = (0..n).map(|i| cell_curve(&base, &knobs, key, i)).collect();
    let ud: Vec<f64> = cells.iter().map(|c| c.up_down as f64).collect();
    let gmax: Vec<f64> = cells.iter().map(|c| c.g_max as f64).collect();
    let gmin: Vec<f64> = cells
        .iter()
        .map(|c| (c.g_min / base.g_min) as f64)
        .collect();
    // Standard error of a std from 20000 samples: 0.5%; allow 3%.
    let (m, s) = std_of(&ud);
    assert!(
        m.abs() < 0.003 && (s / sud as f64 - 1.0).abs() < 0.03,
        "up_down {m} {s}"
    );
    let (m, s) = std_of(&gmax);
    assert!(
        (m - 1.0).abs() < 0.002 && (s / sb as f64 - 1.0).abs() < 0.03,
        "g_max {m} {s}"
    );
    let (m, s) = std_of(&gmin);
    assert!(
        (m - 1.0).abs() < 0.002 && (s / sb as f64 - 1.0).abs() < 0.03,
        "g_min {m} {s}"
    );
    let corr = ud
        .iter()
        .zip(&gmax)
        .map(|(a, b)| a * (b - 1.0))
        .sum::<f64>()
        / (n as f64 * sud as f64 * sb as f64);
    assert!(corr.abs() < 0.05, "correlation {corr}");
    // Zero spreads leave the nominal curve.
    let quiet = Knobs {
        up_down_d2d: 0.0,
        bounds_d2d: 0.0,
        ..knobs
    };
    assert_eq!(cell_curve(&base, &quiet, key, 5), base);
}

/// Through the update: on a linear device, n SET then n RESET pulses move a cell by
/// 2 n u_i (G_max,i - G_min,i) / P_max (std 2 n sigma range / P_max across cells), and a cell
/// driven into saturation sits at its own bound.
#[test]
fn asymmetry_and_bounds_act_in_the_update() {
    let (sud, sb) = (0.08f32, 0.04f32);
    let knobs = Knobs {
        up_down_d2d: sud,
        bounds_d2d: sb,
        ..Knobs::from_device(&DeviceConfig::default(), 0.1, 11)
    };
    let base = CellCurve::nominal(201, 1e6, 0.0, 0.0);
    let key = stream_key(11, Purpose::NlD2d, 0, 0);
    let (n_pulses, p0) = (10, 100.0);
    let mut shifts = Vec::new();
    let mut tops = Vec::new();
    for i in 0..8000 {
        let c = cell_curve(&base, &knobs, key, i);
        let g0 = g_after_ltp(p0, &c);
        let up = apply_update(g0, n_pulses, &c, 0.0, C2cLaw::PerPulse, 0.0);
        let back = apply_update(up, -n_pulses, &c, 0.0, C2cLaw::PerPulse, 0.0);
        let range = (c.g_max - c.g_min) as f64;
        let want = 2.0 * n_pulses as f64 * c.up_down as f64 * range / 200.0;
        // Within the snap to the level grid (0.01 pulse) of the down step.
        let tol = 0.011 * range / 200.0 + 1e-6;
        assert!(((back - g0) as f64 - want).abs() < tol, "cell {i}");
        shifts.push((back - g0) as f64);
        tops.push(apply_update(g0, 1000, &c, 0.0, C2cLaw::PerPulse, 0.0) as f64);
        assert_eq!(*tops.last().unwrap() as f32, c.g_max);
    }
    let (_, s) = std_of(&shifts);
    let want = 2.0 * n_pulses as f64 * sud as f64 / 200.0;
    assert!((s / want - 1.0).abs() < 0.05, "shift std {s} vs {want}");
    let (m, s) = std_of(&tops);
    assert!(
        (m - 1.0).abs() < 0.003 && (s / sb as f64 - 1.0).abs() < 0.05,
        "bounds {m} {s}"
    );
}

/// Validation names the field, the value and the range.
#[test]
fn spread_fields_are_validated() {
    for (field, dev) in [
        (
            "device.up_down_d2d",
            DeviceConfig {
                up_down_d2d: 0.7,
                ..DeviceConfig::default()
            },
        ),
        (
            "device.bounds_d2d",
            DeviceConfig {
                bounds_d2d: -0.1,
                ..DeviceConfig::default()
            },
        ),
    ] {
        let e = dev.validate().unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
}

/// Output-referred read noise has the per-cell model's standard deviation,
/// read_noise sqrt(sum (q g)^2) per conversion (one sense line, all inputs on, one input cycle,
/// differential pair: both columns' noise adds).
#[test]
fn output_referred_noise_matches_closed_form() {
    let (k, reads, sigma) = (100usize, 600u32, 0.05f32);
    for model in [ReadNoiseModel::PerCell, ReadNoiseModel::OutputReferred] {
        let mut cfg = ideal(Mapping::Differential, 8, 8, 1, 1);
        cfg.array.adc_mode = AdcMode::Unit;
        cfg.device.on_off = 10.0;
        cfg.device.read_noise_model = model;
        let w = values(k, 3, -1.0, 1.0);
        let layer = map_weights(&w, 1, k, None, &cfg, 0, 0);
        let knobs = Knobs {
            read_noise: sigma,
            ..quiet(5)
        };
        let x = vec![1.0f32; k];
        let samples: Vec<f64> = (0..reads)
            .map(|r| {
                read_raw(
                    &layer,
                    Direction::Forward,
                    &ReadInput::new(&x, 1, 1.0).counter(r),
                    &cfg,
                    &knobs,
                )
                .0[0]
            })
            .collect();
        let s2: f64 = layer.cells.iter().map(|&g| (g as f64).powi(2)).sum();
        let want = sigma as f64 * s2.sqrt() / layer.unit() as f64;
        let (_, s) = std_of(&samples);
        // 600 samples: standard error of the std about 3%; ADC rounding adds 1/6 level^2.
        assert!((s / want - 1.0).abs() < 0.1, "{model:?}: std {s} vs {want}");
    }
}
