//! Nothing lost: a sweep stopped or killed halfway and resumed holds every point exactly once,
//! with the numbers of an uninterrupted run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use insitu::cli::backend::BackendKind;
use insitu::sweep::{self, Record};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn smoke() -> sweep::Sweep {
    sweep::load(&repo().join("configs/sweeps/smoke.toml")).unwrap()
}

fn opts(out: &Path, resume: bool, stop_after: Option<usize>) -> sweep::Options {
    sweep::Options {
        out: out.to_path_buf(),
        resume,
        shard: None,
        max_population: None,
        backend: BackendKind::Cpu,
        adapter: None,
        stop_after,
        progress: false,
    }
}

fn records(dir: &Path) -> Vec<Record> {
    sweep::log::read(&dir.join("points.jsonl")).unwrap().0
}

/// id -> (test accuracy, train loss); panics on a repeated id.
fn results(dir: &Path) -> HashMap<String, (f64, f64)> {
    let mut m = HashMap::new();
    for r in records(dir) {
        let v = (
            r.metrics["test_accuracy"].as_f64().unwrap(),
            r.metrics["train_loss"].as_f64().unwrap(),
        );
        assert!(m.insert(r.id.clone(), v).is_none(), "{} twice", r.id);
    }
    m
}

#[test]
fn stopped_then_resumed_equals_a_clean_run() {
    let clean = tmp("clean");
    let s = smoke();
    let summary = sweep::run(&s, &opts(&clean, false, None)).unwrap();
    assert_eq!((summary.ok, summary.failed), (8, 0));
    let expected = results(&clean);
    assert_eq!(expected.len(), 8);

    // Stop after 3 points: the first job (4 points) is cut short mid-way.
    let cut = tmp("cut");
    let first = sweep::run(&s, &opts(&cut, false, Some(3))).unwrap();
    assert!(first.stopped);
    assert_eq!(records(&cut).len(), 3);
    // Without --resume the directory is refused.
    let err = sweep::run(&s, &opts(&cut, false, None)).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
    let second = sweep::run(&s, &opts(&cut, true, None)).unwrap();
    assert_eq!((second.skipped, second.ok), (3, 5), "{second:?}");
    assert_eq!(results(&cut), expected);
    // Resuming a finished sweep runs nothing.
    let third = sweep::run(&s, &opts(&cut, true, None)).unwrap();
    assert_eq!((third.skipped, third.ok), (8, 0));
    for d in [clean, cut] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn killed_process_resumes_with_every_point_once() {
    let clean = tmp("kill-clean");
    let s = smoke();
    sweep::run(&s, &opts(&clean, false, None)).unwrap();
    let expected = results(&clean);

    let out = tmp("kill");
    let spec = repo().join("configs/sweeps/smoke.toml");
    let bin = env!("CARGO_BIN_EXE_insitu");
    let args = |resume: bool| {
        let mut c = Command::new(bin);
        c.args(["--backend", "cpu", "sweep"])
            .arg(&spec)
            .arg("--out")
            .arg(&out);
        if resume {
            c.arg("--resume");
        }
        c
    };
    let mut child = args(false).spawn().unwrap();
    let log = out.join("points.jsonl");
    let t0 = Instant::now();
    // Kill as soon as the first job's points are in the log: the second job is in flight.
    while std::fs::read_to_string(&log)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        == 0
    {
        assert!(t0.elapsed() < Duration::from_secs(120), "no point written");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // A torn line, as a kill in the middle of a write leaves it.
    let mut text = std::fs::read(&log).unwrap();
    let before = String::from_utf8_lossy(&text).lines().count();
    assert!(before < 8, "killed before the end ({before} points)");
    text.extend_from_slice(b"{\"id\":\"torn");
    std::fs::write(&log, text).unwrap();

    let status = args(true).status().unwrap();
    assert!(status.success());
    assert_eq!(results(&out), expected);
    for d in [clean, out] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn resume_refuses_a_changed_sweep() {
    let out = tmp("changed");
    let s = smoke();
    sweep::run(&s, &opts(&out, false, Some(1))).unwrap();
    let text = s
        .text
        .replace("values = [0.0, 0.02]", "values = [0.0, 0.03]");
    let changed = sweep::spec::parse(&text, &s.path).unwrap();
    let err = sweep::run(&changed, &opts(&out, true, None)).unwrap_err();
    assert!(err.to_string().contains("different sweep"), "{err}");
    let mut o = opts(&out, true, None);
    o.max_population = Some(2);
    let err = sweep::run(&s, &o).unwrap_err();
    assert!(err.to_string().contains("max_population"), "{err}");
    let _ = std::fs::remove_dir_all(out);
}
