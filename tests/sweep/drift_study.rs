//! The drift study: accuracy of a float-trained network read on PCM-like chips over time.

use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::study::drift::{drift_study, train_float};

fn setup(sets: &[&str]) -> (insitu::config::ExperimentConfig, data::Split) {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let cfg = insitu::config::parse(
        include_str!("../../configs/pcm_drift.toml"),
        "pcm_drift",
        &sets,
    )
    .unwrap();
    let split = data::load(&cfg.data).unwrap();
    (cfg, split)
}

/// Drift lowers the chips' mean accuracy after a year, and compensation recovers part of it.
#[test]
fn drift_lowers_accuracy_and_compensation_recovers_part() {
    let (cfg, split) = setup(&[
        "network.hidden=[32]",
        "train.epochs=2",
        "data.train_limit=1000",
        "data.test_limit=300",
    ]);
    let w = train_float(&mut CpuBackend::new(), &cfg, &split).unwrap();
    let pts = drift_study(&cfg, &w, &split, &[1.0, 3.15e7], 3).unwrap();
    let get = |t: f64, c: bool| {
        pts.iter()
            .find(|p| p.t == t && p.compensate == c)
            .unwrap()
            .mean
    };
    assert_eq!(pts.len(), 4);
    // At t = 1 s compensation is the identity.
    assert_eq!(get(1.0, false), get(1.0, true));
    assert!(get(3.15e7, false) < get(1.0, false), "{pts:?}");
    assert!(get(3.15e7, true) > get(3.15e7, false), "{pts:?}");
}

/// The full measurement (about 10 CPU minutes): `cargo test --release --test drift_study --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn drift_study_report() {
    let (cfg, split) = setup(&[]);
    let w = train_float(&mut CpuBackend::new(), &cfg, &split).unwrap();
    let times = [1.0, 60.0, 3600.0, 86400.0, 2.6e6, 3.15e7];
    let pts = drift_study(&cfg, &w, &split, &times, 4).unwrap();
    println!("t_s compensate mean_acc std_acc per_chip");
    for p in &pts {
        println!(
            "{:.0e} {} {:.4} {:.4} {:?}",
            p.t, p.compensate, p.mean, p.std, p.accuracies
        );
    }
}
