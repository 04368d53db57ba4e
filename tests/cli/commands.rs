//! The command line end to end: default run, train report keys, estimate, clear errors.

use std::process::Command;

fn insitu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_insitu"))
        .args(args)
        .output()
        .expect("run insitu")
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn demo_prints_bp_and_dfa_in_situ_with_the_chip_cost() {
    let o = insitu(&["--backend", "cpu", "demo", "--epochs", "1"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for want in [
        "trained in situ",
        "test accuracy, in situ",
        "forward",
        "error",
        "weight gradient",
        "weight update",
        "inference per image",
        "DFA speed-up",
    ] {
        assert!(out.contains(want), "no `{want}` in:\n{out}");
    }
    assert!(!out.contains("Bp") && !out.contains("Some("), "{out}");
}

#[test]
fn demo_float_prints_bp_and_dfa_side_by_side() {
    let o = insitu(&[
        "--backend",
        "cpu",
        "--quiet",
        "demo",
        "--float",
        "--epochs",
        "1",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("BP test_acc") && out.contains("DFA test_acc"),
        "{out}"
    );
    assert!(out.contains("final test accuracy: BP"), "{out}");
}

#[test]
fn train_writes_the_stable_report_keys() {
    let dir = scratch("train");
    let out = dir.join("r.json");
    let o = insitu(&[
        "--backend",
        "cpu",
        "train",
        "configs/xbar_mlp_bp.toml",
        "--set",
        "train.epochs=1",
        "--set",
        "network.hidden=[16]",
        "--set",
        "data.train_limit=200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for k in [
        "provenance",
        "adapter",
        "backend",
        "seed",
        "config",
        "epochs",
        "final",
        "cost",
    ] {
        assert!(r.get(k).is_some(), "missing {k}");
    }
    for k in ["name", "backend", "driver"] {
        assert!(r["adapter"].get(k).is_some(), "missing adapter.{k}");
    }
    let e = &r["epochs"][0];
    for k in [
        "epoch",
        "train_loss",
        "train_accuracy",
        "test_accuracy",
        "seconds",
    ] {
        assert!(e.get(k).is_some(), "missing epochs[0].{k}");
    }
    assert!(r["final"]["samples_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(r["config"]["network"]["hidden"][0], 16);
    assert!(r["cost"]["schedule"]["ratio"].as_f64().unwrap() > 0.0);
    assert!(r["activity"][0]["write_pulses"].as_u64().unwrap() > 0);
}

#[test]
fn estimate_writes_a_chip_report() {
    let dir = scratch("estimate");
    let out = dir.join("e.json");
    let o = insitu(&[
        "estimate",
        "configs/neurosim_vgg8_inference.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let area = r["area_mm2"]["total"].as_f64().unwrap();
    assert!(area > 30.0 && area < 65.0, "{area}");
    assert!(r["inference"]["tops_per_w"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let o = insitu(&[
        "--backend",
        "cpu",
        "train",
        "configs/mlp_mnist_bp.toml",
        "--set",
        "train.batch_size=0",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("train.batch_size") && err.contains("1..=65536"),
        "{err}"
    );
    let o = insitu(&["--backend", "cpu", "train", "no/such/file.toml"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/file.toml"));
}

#[test]
fn f16_gemm_is_refused_on_the_cpu_backend() {
    let o = insitu(&[
        "--backend",
        "cpu",
        "--gemm",
        "f16",
        "bench",
        "--quick",
        "--only",
        "gemm_128",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("--gemm f16") && err.contains("GPU backend"),
        "{err}"
    );
}
