//! Device update and in-situ programming.

use crate::common::xbar as common;

use common::*;
use insitu::config::{DeviceConfig, Mapping, Rounding};
use insitu::xbar::device::{apply_pulses, g_after_ltp, CellCurve};
use insitu::xbar::mapping::map_for_training;
use insitu::xbar::nl::shape_from_nl;
use insitu::xbar::{program, Knobs, Xbar};

#[test]
fn nl_solver_checked_values() {
    for (nl, a) in [
        (1.00, 1.251653),
        (1.46, 0.848677),
        (1.75, 0.702081),
        (2.40, 0.499181),
        (4.88, 0.200303),
    ] {
        let got = shape_from_nl(nl).unwrap();
        assert!((got - a).abs() < 1e-5, "NL {nl}: {got} vs {a}");
    }
    assert_eq!(shape_from_nl(0.0), None);
}

#[test]
fn linear_device_visits_exactly_its_levels() {
    for levels in [2u32, 17, 32, 97] {
        let c = CellCurve::nominal(levels, 12.5, 0.0, 0.0);
        let steps = values(4000, levels as u64, -6.0, 6.0);
        let mut g = c.g_min;
        let mut seen = std::collections::BTreeSet::new();
        seen.insert(g.to_bits());
        for s in steps {
            g = apply_pulses(g, s.round() as i32, &c, 0.0, 0.0);
            seen.insert(g.to_bits());
        }
        assert_eq!(seen.len(), levels as usize, "levels {levels}");
    }
}

#[test]
fn potentiate_then_depress_returns_only_if_linear() {
    let lin = CellCurve::nominal(97, 12.5, 0.0, 0.0);
    let g0 = g_after_ltp(40.0, &lin);
    for n in [1, 5, 20] {
        let g = apply_pulses(apply_pulses(g0, n, &lin, 0.0, 0.0), -n, &lin, 0.0, 0.0);
        assert!((g - g0).abs() < 1e-5, "linear n {n}: {g0} -> {g}");
    }
    let nonlin = CellCurve::nominal(32, 12.5, 1.75, -1.46);
    let g0 = g_after_ltp(10.0, &nonlin);
    let g = apply_pulses(
        apply_pulses(g0, 8, &nonlin, 0.0, 0.0),
        -8,
        &nonlin,
        0.0,
        0.0,
    );
    assert!((g - g0).abs() > 0.02, "NL 1.75/-1.46 returned: {g0} -> {g}");
}

#[test]
fn no_nan_up_to_nl_9() {
    for nl in [0.01, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 9.0] {
        for nl_d2d in [0.0f32, 0.5] {
            let zs = values(2000, 77, -3.0, 3.0);
            let steps = values(2000, 78, -40.0, 40.0);
            let c = CellCurve::nominal(97, 12.5, nl, -nl).with_nl_d2d(nl_d2d, zs[0], zs[1]);
            let mut g = 0.5;
            for (s, z) in steps.iter().zip(&zs) {
                g = apply_pulses(g, s.round() as i32, &c, 0.05, *z);
                assert!(g.is_finite() && g >= c.g_min && g <= 1.0, "NL {nl}: {g}");
            }
        }
    }
}

fn training(mapping: Mapping, device: DeviceConfig) -> Xbar {
    let mut x = ideal(mapping, 5, 5, 8, 1);
    x.device = device;
    x
}

fn linear_device(levels: u32) -> DeviceConfig {
    DeviceConfig {
        levels,
        on_off: 12.5,
        max_pulses_per_update: levels - 1,
        ..DeviceConfig::default()
    }
}

#[test]
fn training_init_hits_nearest_state() {
    for mapping in [Mapping::Offset, Mapping::Differential] {
        let cfg = training(mapping, linear_device(65));
        let (n, k) = (7, 13);
        let w = values(n * k, 1, -1.0, 1.0);
        let layer = map_for_training(&w, n, k, 1.0, &cfg, &quiet(0), 0, 0).unwrap();
        let got = layer.decode_weights();
        // Offset: 64 pulses span 2s, state spacing 2/64; differential: each cell spacing 1/64.
        for (a, b) in got.iter().zip(&w) {
            assert!(
                (a - b).abs() <= 1.0 / 64.0 + 1e-5,
                "{mapping:?}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn c2c_noise_has_its_sigma() {
    let mut dev = linear_device(257);
    dev.c2c = 0.01;
    let cfg = training(Mapping::Offset, dev);
    let n_w = 20000;
    let layer0 = map_for_training(&vec![0.0; n_w], 1, n_w, 1.0, &cfg, &quiet(0), 0, 0).unwrap();
    let knobs = Knobs {
        c2c: 0.01,
        lr: 1.0,
        ..quiet(5)
    };
    let mut layer = layer0.clone();
    // dw_1 = 2/256; gradient -4 dw_1 -> n = 4 pulses each.
    let grad = vec![-4.0 * 2.0 / 256.0; n_w];
    let wc = program(&mut layer, &grad, &cfg, &knobs, 0).unwrap();
    assert_eq!(wc.pulses, 4 * n_w as u64);
    assert_eq!(wc.cells_written, n_w as u64);
    assert_eq!(wc.row_max, vec![4; n_w]);
    let dw: Vec<f64> = layer
        .decode_weights()
        .iter()
        .zip(layer0.decode_weights())
        .map(|(a, b)| (a - b) as f64)
        .collect();
    let (m, s) = mean_std(&dw);
    // w = s (2y - 1): 4 pulses move w by 4 * 2/256; noise in y is c2c sqrt(4), in w twice that.
    assert!((m - 4.0 * 2.0 / 256.0).abs() < 2e-4, "mean {m}");
    let want = 2.0 * 0.01 * 2.0;
    assert!((s - want).abs() < 0.03 * want, "sigma {s}, want {want}");
}

#[test]
fn rounding_and_pulse_limits() {
    let mut dev = linear_device(101);
    dev.max_pulses_per_update = 3;
    dev.rounding = Rounding::Stochastic;
    let cfg = training(Mapping::Differential, dev.clone());
    let n_w = 20000;
    let base = map_for_training(&vec![0.0; n_w], n_w, 1, 1.0, &cfg, &quiet(0), 0, 0).unwrap();
    let knobs = Knobs {
        lr: 1.0,
        ..quiet(6)
    };
    let dw_1 = 2.0 / 100.0;
    // 0.3 pulses on average: stochastic rounding gives 1 pulse with probability 0.3 (two cells each).
    let mut l = base.clone();
    let wc = program(&mut l, &vec![-0.3 * dw_1; n_w], &cfg, &knobs, 0).unwrap();
    let frac = wc.cells_written as f64 / (2 * n_w) as f64;
    assert!((frac - 0.3).abs() < 0.015, "{frac}");
    assert_eq!(wc.pulses, wc.cells_written);
    assert_eq!(wc.row_max, vec![1]);
    // The same step reproduces, another step draws again.
    let mut l2 = base.clone();
    program(&mut l2, &vec![-0.3 * dw_1; n_w], &cfg, &knobs, 0).unwrap();
    assert_eq!(l.cells, l2.cells);
    let mut l3 = base.clone();
    program(&mut l3, &vec![-0.3 * dw_1; n_w], &cfg, &knobs, 1).unwrap();
    assert_ne!(l.cells, l3.cells);
    // Nearest rounding: 0.3 -> nothing; 10 pulses clip to 3; w moves by 3 dw_1.
    let cfg = training(
        Mapping::Differential,
        DeviceConfig {
            rounding: Rounding::Nearest,
            ..dev
        },
    );
    let mut l = base.clone();
    assert_eq!(
        program(&mut l, &vec![-0.3 * dw_1; n_w], &cfg, &knobs, 0)
            .unwrap()
            .pulses,
        0
    );
    let wc = program(&mut l, &vec![10.0 * dw_1; n_w], &cfg, &knobs, 0).unwrap();
    assert_eq!(wc.pulses, 2 * 3 * n_w as u64);
    for w in l.decode_weights() {
        assert!((w + 3.0 * dw_1).abs() < 1e-5, "{w}");
    }
}

#[test]
fn training_rejects_sliced_cells() {
    let mut cfg = training(Mapping::Offset, linear_device(32));
    cfg.array.cell_bits = 1;
    let e = map_for_training(&[0.0], 1, 1, 1.0, &cfg, &quiet(0), 0, 0).unwrap_err();
    assert!(e.to_string().contains("array.cell_bits"), "{e}");
}
