//! The robustness study runs every knob for both rules and writes a complete table and CSV.

use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::study::robustness::{csv, run, table};

#[test]
fn study_covers_every_knob_for_both_rules() {
    let refs = [
        ("bp", include_str!("../configs/xbar_mlp_bp.toml"), "bp"),
        ("dfa", include_str!("../configs/xbar_mlp_dfa.toml"), "dfa"),
    ];
    let sets: Vec<String> = [
        "network.hidden=[8]",
        "train.epochs=1",
        "data.train_limit=64",
        "data.test_limit=64",
        "train.alignment=false",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let cfg = insitu::config::parse(refs[0].1, "bp", &sets).unwrap();
    let split = data::load(&cfg.data).unwrap();
    let mut calls = 0;
    let points = run(&mut CpuBackend::new(), &refs, &sets, &split, |_| calls += 1).unwrap();
    // 6 + 5 + 5 + 5 + 6 + 5 values per rule; per-instance knobs are one run each.
    assert_eq!(points.len(), 2 * 32);
    assert_eq!(calls, 2 * (6 + 5 + 1 + 1 + 1 + 5));
    for knob in ["adc_bits", "weight_bits", "c2c", "d2d", "nl", "on_off"] {
        for rule in ["bp", "dfa"] {
            assert!(
                points.iter().any(|p| p.knob == knob && p.rule == rule),
                "{knob} {rule}"
            );
        }
    }
    assert!(points
        .iter()
        .all(|p| (0.0..=1.0).contains(&p.test_accuracy)));
    let c = csv(&points);
    assert!(c.starts_with("knob,value,rule,test_accuracy,stopped\n"));
    assert_eq!(c.lines().count(), 1 + points.len());
    assert_eq!(table(&points).lines().count(), 1 + 32);
}
