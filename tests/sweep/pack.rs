//! Population packing: per-instance knobs share one run, shape changes do not; failures stay
//! with their points.

use std::path::PathBuf;

use insitu::cli::backend::BackendKind;
use insitu::sweep::{self, spec::parse, Status, Sweep};

fn spec(text: &str) -> Sweep {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/sweeps/test.toml");
    parse(text, &here).unwrap()
}

#[test]
fn seeds_and_device_knobs_pack_into_one_population() {
    let s = spec(
        r#"base = "../xbar_mlp_bp.toml"
        seeds = 4
        [[axis]]
        key = "device.c2c"
        values = [0.0, 0.01, 0.02]
        [[axis]]
        keys = ["device.nl_ltp", "device.nl_ltd"]
        values = [[1.0, -1.0], [2.0, -2.0]]
        [[axis]]
        key = "optimizer.lr"
        values = [0.05, 0.1]"#,
    );
    let plan = sweep::plan(&s, None).unwrap();
    assert_eq!(plan.points.len(), 48);
    assert_eq!(plan.jobs.len(), 1, "{:?}", plan.jobs);
    assert_eq!(plan.jobs[0].points, (0..48).collect::<Vec<_>>());
    let cfg = &plan.configs[0];
    assert_eq!(cfg.population.len(), 48);
    // Point 13: c2c 0.0, NL (2, -2), lr 0.1, seed 2 (seeds innermost).
    let inst = &cfg.population[13];
    assert_eq!(inst.seed, Some(2));
    assert_eq!(inst.c2c, Some(0.0));
    assert_eq!((inst.nl_ltp, inst.nl_ltd), (Some(2.0), Some(-2.0)));
    assert_eq!(inst.lr, Some(0.1));

    // The population cap splits a group into consecutive chunks.
    let plan = sweep::plan(&s, Some(20)).unwrap();
    let sizes: Vec<usize> = plan.jobs.iter().map(|j| j.points.len()).collect();
    assert_eq!(sizes, vec![20, 20, 8]);
}

#[test]
fn shape_changing_points_run_as_separate_jobs() {
    let s = spec(
        r#"base = "../xbar_mlp_bp.toml"
        seeds = 2
        [[axis]]
        key = "network.hidden"
        values = [[32], [64]]
        [[axis]]
        key = "device.c2c"
        values = [0.0, 0.02]
        [[axis]]
        key = "array.adc_bits"
        values = [4, 6]"#,
    );
    let plan = sweep::plan(&s, None).unwrap();
    assert_eq!(plan.jobs.len(), 4);
    for (j, cfg) in plan.jobs.iter().zip(&plan.configs) {
        assert_eq!(j.points.len(), 4, "2 c2c x 2 seeds per shape");
        assert_eq!(cfg.population.len(), 4);
        let first = &plan.points[j.points[0]];
        for &i in &j.points {
            let p = &plan.points[i];
            for key in ["network.hidden", "array.adc_bits"] {
                let v = |p: &sweep::Point| p.overrides.iter().find(|(k, _)| k == key).cloned();
                assert_eq!(v(p), v(first), "{key} differs inside job {}", j.index);
            }
        }
    }
    assert_eq!(plan.configs[0].network.hidden, vec![32]);
    assert_eq!(plan.configs[0].array.as_ref().unwrap().adc_bits, 4);
    assert_eq!(plan.configs[3].network.hidden, vec![64]);
    assert_eq!(plan.configs[3].array.as_ref().unwrap().adc_bits, 6);
}

#[test]
fn a_diverging_point_fails_alone() {
    let s = spec(
        r#"base = "../mlp_mnist_bp.toml"
        metrics = ["test_accuracy", "train_loss"]
        [set]
        "data.train_limit" = 200
        "data.test_limit" = 100
        "network.hidden" = [16]
        "train.epochs" = 2
        [[axis]]
        key = "optimizer.lr"
        values = [0.02, 1e30, 0.05]"#,
    );
    let out = std::env::temp_dir().join(format!("insitu-sweep-diverge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let summary = sweep::run(
        &s,
        &sweep::Options {
            out: out.clone(),
            resume: false,
            shard: None,
            max_population: None,
            backend: BackendKind::Cpu,
            adapter: None,
            stop_after: None,
            progress: false,
        },
    )
    .unwrap();
    assert_eq!(
        (summary.ok, summary.failed, summary.diverged),
        (2, 1, 1),
        "{summary:?}"
    );
    let (records, _) = sweep::log::read(&out.join("points.jsonl")).unwrap();
    let by_index = |i: usize| records.iter().find(|r| r.index == i).unwrap();
    let bad = by_index(1);
    assert_eq!(bad.status, Status::Diverged);
    assert!(
        bad.error.as_deref().unwrap().contains("diverged"),
        "{bad:?}"
    );
    for i in [0, 2] {
        let r = by_index(i);
        assert_eq!(r.status, Status::Ok);
        let acc = r.metrics["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.3, "point {i} trained: {acc}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
