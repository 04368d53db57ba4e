//! The frozen per-cell models (`xbar::stuck`, `xbar::d2d`) against their closed forms: stuck
//! fractions p_off and p_on at G_min and G_max, the d2d factor's mean 1 and spread d2d, no
//! model where the device has none, and streams fixed by (seed, instance, layer).

use crate::common::xbar as common;

use common::*;
use insitu::config::DeviceConfig;
use insitu::xbar::d2d::D2d;
use insitu::xbar::stuck::Stuck;

#[test]
fn stuck_cells_take_their_fractions_and_bounds() {
    let dev = DeviceConfig {
        stuck_off: 0.2,
        stuck_on: 0.05,
        ..DeviceConfig::default()
    };
    let g_min = 0.1;
    let m = Stuck::new(&dev, &quiet(3), 1, 2, g_min).expect("stuck cells");
    let n = 40_000;
    let (mut off, mut on) = (0, 0);
    for idx in 0..n {
        match m.value(idx) {
            Some(g) if g == g_min => off += 1,
            Some(g) => {
                assert_eq!(g, 1.0, "a stuck-on cell reads G_max");
                on += 1;
            }
            None => {}
        }
    }
    // Binomial: 4 standard deviations.
    for (count, p, what) in [(off, 0.2, "off"), (on, 0.05, "on")] {
        let f = count as f64 / n as f64;
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        assert!((f - p).abs() < 4.0 * sd, "stuck {what}: {f}, want {p}");
    }
    // Frozen: the same cells again; another instance draws other cells.
    let again = Stuck::new(&dev, &quiet(3), 1, 2, g_min).unwrap();
    let other = Stuck::new(&dev, &quiet(3), 2, 2, g_min).unwrap();
    let same = (0..1000).all(|i| again.value(i) == m.value(i));
    let differ = (0..1000).filter(|&i| other.value(i) != m.value(i)).count();
    assert!(same && differ > 100, "same {same}, differ {differ}");
    assert!(Stuck::new(&DeviceConfig::default(), &quiet(3), 1, 2, g_min).is_none());
}

#[test]
fn d2d_factor_has_mean_one_and_its_spread() {
    let sigma = 0.08;
    let knobs = insitu::xbar::Knobs {
        d2d: sigma,
        ..quiet(9)
    };
    let m = D2d::new(&knobs, 0, 4).expect("d2d");
    let n = 40_000;
    let f: Vec<f64> = (0..n).map(|i| m.factor(i) as f64).collect();
    let (mean, sd) = mean_std(&f);
    assert!(
        (mean - 1.0).abs() < 4.0 * sigma as f64 / (n as f64).sqrt(),
        "mean {mean}"
    );
    assert!(
        (sd - sigma as f64).abs() < 0.03 * sigma as f64,
        "spread {sd}"
    );
    // Clipped at 0 for spreads wide enough to reach it.
    let wide = D2d::new(
        &insitu::xbar::Knobs {
            d2d: 2.0,
            ..quiet(9)
        },
        0,
        4,
    )
    .unwrap();
    assert!((0..n).all(|i| wide.factor(i) >= 0.0));
    assert!((0..n).any(|i| wide.factor(i) == 0.0));
    assert!(D2d::new(&quiet(9), 0, 4).is_none());
}
