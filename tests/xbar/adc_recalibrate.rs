//! Calibrated ADC ranges in in-situ training: zero-initialised DFA does not clip every output
//! conversion, recalibration runs, and every epoch row reports per-layer clip fractions.

use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::experiment::{run_on, RunOptions};

fn run(extra: &[&str]) -> insitu::report::RunReport {
    let mut sets: Vec<String> = [
        "network.hidden=[16]",
        "network.init=zero",
        "train.epochs=2",
        "train.alignment=false",
        "data.train_limit=192",
        "data.test_limit=64",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    sets.extend(extra.iter().map(|s| s.to_string()));
    let cfg = insitu::config::parse(
        include_str!("../../configs/xbar_mlp_dfa.toml"),
        "xbar_mlp_dfa",
        &sets,
    )
    .unwrap();
    let split = data::load(&cfg.data).unwrap();
    run_on(&mut CpuBackend::new(), &cfg, &split, &RunOptions::default()).unwrap()
}

#[test]
fn zero_init_dfa_does_not_clip_everything_and_reports_clip_fractions() {
    for extra in [
        &[][..],
        &["array.adc_recalibrate_steps=2"][..],
        &["array.adc_recalibrate_epoch=true"][..],
    ] {
        let r = run(extra);
        assert_eq!(r.epochs.len(), 2, "{extra:?}");
        for e in &r.epochs {
            assert_eq!(
                e.adc_clipped.len(),
                2,
                "{extra:?}: one entry per weight layer"
            );
            for c in &e.adc_clipped {
                assert!(c.forward < 0.5, "{extra:?}: {c:?}");
            }
        }
        // The report's warnings agree with the fractions and the bound.
        let over = r
            .epochs
            .iter()
            .flat_map(|e| &e.adc_clipped)
            .filter(|c| c.forward > 0.01 || c.transposed > 0.01)
            .count();
        assert_eq!(r.warnings.len(), over, "{extra:?}: {:?}", r.warnings);
    }
}
