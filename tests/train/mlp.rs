//! End-to-end training: accuracy bars, GPU/CPU agreement, determinism, populations, DFA.

use crate::common;

use insitu::backend::Backend;
use insitu::config::{parse, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data::{self, Split};
use insitu::experiment::{run_on, RunOptions};
use insitu::report::RunReport;
use std::sync::OnceLock;

fn mnist() -> &'static Split {
    static S: OnceLock<Split> = OnceLock::new();
    S.get_or_init(|| data::mnist5k().expect("embedded data"))
}

/// A small but real run: 784-64-64-10 on 2000 training images.
fn small(rule: &str, extra: &[&str]) -> ExperimentConfig {
    let mut sets: Vec<String> = vec![
        format!("train.rule=\"{rule}\""),
        "network.hidden=[64, 64]".into(),
        "train.epochs=2".into(),
        "train.batch_size=32".into(),
        "data.train_limit=2000".into(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    let base = if rule == "dfa" {
        include_str!("../../configs/mlp_mnist_dfa.toml")
    } else {
        include_str!("../../configs/mlp_mnist_bp.toml")
    };
    parse(base, "test", &sets).expect("test config")
}

fn train(be: &mut dyn Backend, cfg: &ExperimentConfig) -> RunReport {
    let split = data::load(&cfg.data).expect("data");
    run_on(be, cfg, &split, &RunOptions::default()).expect("run")
}

#[test]
fn short_runs_clear_the_bar_on_gpu() {
    let _ = mnist();
    for (rule, bar) in [("bp", 0.85), ("dfa", 0.70)] {
        let r = train(&mut common::gpu(), &small(rule, &[]));
        let acc = r.final_.as_ref().unwrap().test_accuracy;
        assert!(acc >= bar, "{rule}: test accuracy {acc} below {bar}");
        assert_eq!(r.epochs.len(), 2);
        if rule == "dfa" {
            let a = r.epochs[1].alignment.as_ref().expect("alignment recorded");
            assert_eq!(a.len(), 2);
            assert!(
                a.iter().all(|c| *c > 0.05),
                "DFA should align with BP: {a:?}"
            );
        }
    }
}

#[test]
fn gpu_and_cpu_agree() {
    for rule in ["bp", "dfa"] {
        let cfg = small(rule, &["train.epochs=1"]);
        let g = train(&mut common::gpu(), &cfg);
        let c = train(&mut CpuBackend::new(), &cfg);
        let (ga, ca) = (g.epochs[0].test_accuracy, c.epochs[0].test_accuracy);
        assert!((ga - ca).abs() <= 0.005, "{rule}: gpu {ga} vs cpu {ca}");
        assert!((g.epochs[0].train_loss - c.epochs[0].train_loss).abs() < 1e-3);
    }
}

#[test]
fn a_seed_reproduces_a_run() {
    let cfg = small("bp", &["train.epochs=1", "data.train_limit=500"]);
    let a = train(&mut common::gpu(), &cfg);
    let b = train(&mut common::gpu(), &cfg);
    assert_eq!(a.epochs[0].train_loss, b.epochs[0].train_loss);
    assert_eq!(a.epochs[0].test_accuracy, b.epochs[0].test_accuracy);
    let c = train(
        &mut common::gpu(),
        &small("bp", &["train.epochs=1", "data.train_limit=500", "seed=2"]),
    );
    assert_ne!(a.epochs[0].train_loss, c.epochs[0].train_loss);
}

#[test]
fn population_equals_separate_runs() {
    let pop = r#"population=[{seed=5, lr=0.01}, {seed=6, lr=0.03}, {seed=7}]"#;
    for rule in ["bp", "dfa"] {
        let cfg = small(rule, &["train.epochs=1", "data.train_limit=400", pop]);
        let together = train(&mut common::gpu(), &cfg);
        assert_eq!(together.instances.len(), 3);
        for (i, inst) in together.instances.iter().enumerate() {
            let single = cfg.population[i].clone();
            let mut one = cfg.clone();
            one.population = vec![single];
            let alone = train(&mut common::gpu(), &one);
            let (a, b) = (&inst.epochs[0], &alone.epochs[0]);
            assert!(
                (a.train_loss - b.train_loss).abs() < 1e-6,
                "{rule} instance {i}"
            );
            assert_eq!(a.test_accuracy, b.test_accuracy, "{rule} instance {i}");
        }
        let l: Vec<f64> = together
            .instances
            .iter()
            .map(|i| i.epochs[0].train_loss)
            .collect();
        assert!(l[0] != l[1] && l[1] != l[2], "instances differ: {l:?}");
    }
}

#[test]
fn dfa_beats_its_train_only_the_last_layer_control() {
    let xavier = "network.init=\"xavier\"";
    let full = train(&mut CpuBackend::new(), &small("dfa", &[xavier]));
    let last = train(
        &mut CpuBackend::new(),
        &small("dfa", &[xavier, "train.last_layer_only=true"]),
    );
    let (f, l) = (
        full.final_.unwrap().test_accuracy,
        last.final_.unwrap().test_accuracy,
    );
    assert!(f > l + 0.05, "DFA {f} vs last layer only {l}");
}
