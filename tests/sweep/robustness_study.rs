//! The robustness study trains every rule on every chip with every seed, reports clip fractions
//! for in-situ runs only, and its statistics and verdicts follow the stated criterion; the
//! search scores on a validation split.

use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::plot::study::figure;
use insitu::study::robustness::{
    compare, conditions, csv, experiment, mean_std, run, summarize, table, Arm, Condition, Point,
};
use insitu::study::search::{self, Grid};

fn arms() -> Vec<Arm> {
    vec![
        Arm {
            name: "bp",
            base: include_str!("../../configs/xbar_mlp_bp.toml"),
            origin: "bp",
            sets: vec!["optimizer.lr=0.1".into()],
        },
        Arm {
            name: "dfa",
            base: include_str!("../../configs/xbar_mlp_dfa.toml"),
            origin: "dfa",
            sets: vec!["network.init=zero".into()],
        },
    ]
}

fn small() -> Vec<String> {
    [
        "network.hidden=[8]",
        "train.epochs=1",
        "data.train_limit=64",
        "data.test_limit=64",
        "train.alignment=false",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn study_trains_every_rule_on_every_chip_and_seed() {
    let sets = small();
    let arms = arms();
    let conds = vec![
        Condition::float(),
        Condition::device("fefet_symmetric", &["device.preset=fefet_symmetric"]),
        Condition::device("asym adc=4b", &["array.adc_bits=4"]),
    ];
    let cfg = experiment(&arms[0], &conds[0], &sets, &[1]).unwrap();
    assert!(cfg.array.is_none() && cfg.device.is_none());
    let cfg = experiment(&arms[1], &conds[1], &sets, &[1, 2]).unwrap();
    assert_eq!(cfg.device.as_ref().unwrap().nl_ltd, 1.46);
    assert_eq!(cfg.population.len(), 2);
    let split = data::load(&cfg.data).unwrap();
    let mut calls = 0;
    let seeds = [1, 2];
    let points = run(
        &mut CpuBackend::new(),
        &arms,
        &conds,
        &sets,
        &seeds,
        &split,
        |_| calls += 1,
    )
    .unwrap();
    assert_eq!(calls, 2 * 3);
    assert_eq!(points.len(), 2 * 3 * 2);
    for p in &points {
        assert!((0.0..=1.0).contains(&p.test_accuracy));
        assert_eq!(p.curve.len(), 1);
        // Two weight layers; float chips have no ADC.
        assert_eq!(p.clipped.len(), if p.condition == "float" { 0 } else { 2 });
    }
    let s = summarize(&points);
    assert_eq!(s.len(), 6);
    assert!(s.iter().all(|s| s.seeds == 2));
    let c = compare(&s, "bp", "dfa");
    assert_eq!(c.len(), 2);
    assert!(table(&s).contains("| fefet_symmetric |"));
    assert_eq!(csv(&points).lines().count(), 1 + points.len());
    let fig = figure(&s, "t");
    assert_eq!(fig.series.len(), 2);
    assert_eq!(fig.x_labels.as_ref().unwrap().len(), 3);
    // The shipped conditions start from float and include both FeFET variants.
    let names: Vec<String> = conditions().into_iter().map(|c| c.name).collect();
    assert_eq!(names[..3], ["float", "fefet_symmetric", "fefet_asymmetric"]);
}

fn point(rule: &str, condition: &str, acc: f64) -> Point {
    Point {
        rule: rule.into(),
        condition: condition.into(),
        seed: 1,
        test_accuracy: acc,
        curve: vec![],
        clipped: vec![],
        diverged: None,
    }
}

#[test]
fn statistics_and_verdicts_follow_the_criterion() {
    let (m, s, se) = mean_std(&[0.90, 0.92, 0.94, 0.96]);
    assert!((m - 0.93).abs() < 1e-12);
    let sd = (0.002f64 / 3.0).sqrt();
    assert!((s - sd).abs() < 1e-12);
    assert!((se - sd / 2.0).abs() < 1e-12);
    let mut points = Vec::new();
    for (rule, float, a, b) in [
        // BP loses 1 point on "a", 1 on "b"; DFA loses 5 on "a", 1.2 on "b".
        ("bp", 0.95, 0.94, 0.94),
        ("dfa", 0.90, 0.85, 0.888),
    ] {
        for d in [-0.002, 0.0, 0.002, 0.0] {
            points.push(point(rule, "float", float + d));
            points.push(point(rule, "a", a + d));
            points.push(point(rule, "b", b + d));
        }
    }
    let c = compare(&summarize(&points), "bp", "dfa");
    assert_eq!(c[0].condition, "a");
    assert!((c[0].diff - 0.04).abs() < 1e-9);
    assert_eq!(c[0].verdict, "BP degrades less");
    assert_eq!(c[1].verdict, "within noise");
}

#[test]
fn search_scores_on_the_validation_split() {
    let mut sets = small();
    sets.push("data.val_split=16".into());
    let grids = vec![Grid {
        arm: arms().remove(1),
        inits: vec!["xavier", "zero"],
        lrs: vec![0.01, 0.1],
    }];
    let cfg = insitu::config::parse(grids[0].arm.base, "dfa", &sets).unwrap();
    let split = data::load(&cfg.data).unwrap();
    assert_eq!((split.train.len(), split.test.len()), (48, 16));
    let trials = search::run(
        &mut CpuBackend::new(),
        &grids,
        &sets,
        &[1, 2],
        &split,
        |_| {},
    )
    .unwrap();
    assert_eq!(trials.len(), 4);
    assert!(trials.iter().all(|t| t.accuracies.len() == 2));
    let best = search::best(&trials);
    assert_eq!(best.len(), 1);
    assert!(trials.iter().all(|t| t.mean <= best[0].mean));
    assert!(search::table(&trials).contains("**best**"));
    // Without a validation split the search refuses to run.
    let e = search::run(
        &mut CpuBackend::new(),
        &grids,
        &small(),
        &[1],
        &split,
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("data.val_split"), "{e}");
}
