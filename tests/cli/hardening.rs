//! Adversarial inputs: every one is refused with an error naming what is wrong, or handled,
//! never a panic, an abort, a hang or a silently wrong result.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use insitu::cli::backend::BackendKind;
use insitu::config::{self, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data::{Dataset, Split};
use insitu::experiment::{run_on, RunOptions};
use insitu::sweep::{self, Record};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-harden-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn insitu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_insitu"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run insitu")
}

fn sets(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// The error of parsing an empty experiment with `--set` overrides.
fn config_err(overrides: &[&str]) -> String {
    match config::parse("", "test.toml", &sets(overrides)) {
        Ok(_) => panic!("{overrides:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

fn cfg(overrides: &[&str]) -> ExperimentConfig {
    config::parse("", "test.toml", &sets(overrides)).unwrap()
}

/// A small separable data set: class = which quarter of the features is bright.
fn dataset(n: usize, classes: usize, shape: [usize; 3]) -> Dataset {
    let f: usize = shape.iter().product();
    let mut images = vec![0f32; n * f];
    let labels: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
    for (i, &l) in labels.iter().enumerate() {
        let band = f / classes;
        for j in 0..band {
            images[i * f + l as usize * band + j] = 1.0;
        }
    }
    Dataset {
        images,
        labels,
        shape,
        classes,
    }
}

fn split(n_train: usize, n_test: usize, classes: usize) -> Split {
    Split {
        train: dataset(n_train, classes, [1, 8, 8]),
        test: dataset(n_test, classes, [1, 8, 8]),
        name: "synthetic".into(),
    }
}

// ---------------------------------------------------------------- sizes

#[test]
fn huge_sizes_in_an_arch_are_refused_by_name() {
    for (arch, what) in [
        ("C16p1000000000000-FC10", "padding"),
        ("C4294967296-FC10", "channels"),
        ("C16k100000-FC10", "kernel"),
        ("C16s100000-FC10", "stride"),
        ("FC99999999-FC10", "outputs"),
        ("R99999999-FC10", "channels"),
    ] {
        let e = config_err(&[&format!("network.arch=\"{arch}\"")]);
        assert!(
            e.contains("network.arch") && e.contains(what) && e.contains("limit"),
            "{arch}: {e}"
        );
    }
    // Layer sizes that only the shapes reveal: weights and feature maps per layer.
    let e = config_err(&[
        "network.arch=\"C65536p1024-C65536-FC10\"",
        "network.input=[3, 4096, 4096]",
    ]);
    assert!(e.contains("network.arch") && e.contains("at most"), "{e}");
}

#[test]
fn huge_mlp_widths_are_refused_before_allocation() {
    let e = config_err(&["network.hidden=[65536, 65536]"]);
    assert!(
        e.contains("network.hidden") && e.contains("65536 x 65536"),
        "{e}"
    );
    let e = config_err(&[
        "network.hidden=[4096]",
        "population=[{seed=1}, {seed=2}, {seed=3}, {seed=4}, {seed=5}, {seed=6}, {seed=7}, {seed=8}, {seed=9}, {seed=10}, {seed=11}, {seed=12}, {seed=13}, {seed=14}, {seed=15}, {seed=16}, {seed=17}, {seed=18}, {seed=19}, {seed=20}, {seed=21}, {seed=22}, {seed=23}, {seed=24}, {seed=25}, {seed=26}, {seed=27}, {seed=28}, {seed=29}, {seed=30}, {seed=31}, {seed=32}, {seed=33}, {seed=34}, {seed=35}, {seed=36}, {seed=37}, {seed=38}, {seed=39}, {seed=40}, {seed=41}, {seed=42}, {seed=43}, {seed=44}, {seed=45}, {seed=46}, {seed=47}, {seed=48}, {seed=49}, {seed=50}, {seed=51}, {seed=52}, {seed=53}, {seed=54}, {seed=55}, {seed=56}, {seed=57}, {seed=58}, {seed=59}, {seed=60}, {seed=61}, {seed=62}, {seed=63}, {seed=64}, {seed=65}, {seed=66}, {seed=67}, {seed=68}, {seed=69}, {seed=70}, {seed=71}, {seed=72}, {seed=73}, {seed=74}, {seed=75}, {seed=76}, {seed=77}, {seed=78}, {seed=79}, {seed=80}, {seed=81}, {seed=82}, {seed=83}, {seed=84}, {seed=85}, {seed=86}, {seed=87}, {seed=88}, {seed=89}, {seed=90}, {seed=91}, {seed=92}, {seed=93}, {seed=94}, {seed=95}, {seed=96}, {seed=97}, {seed=98}, {seed=99}, {seed=100}]",
    ]);
    assert!(
        e.contains("network.hidden") && e.contains("100 instances"),
        "{e}"
    );
}

#[test]
fn huge_idx_headers_are_refused() {
    // 0 images of 65535 x 65535: the header is consistent but the images are absurd.
    let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 0];
    bytes.extend(65535u32.to_be_bytes());
    bytes.extend(65535u32.to_be_bytes());
    let e = insitu::data::idx::parse_images(&bytes, "x.idx").unwrap_err();
    assert!(
        e.to_string().contains("x.idx") && e.to_string().contains("at most"),
        "{e}"
    );
}

#[test]
fn huge_netlist_values_are_refused_and_estimate_returns() {
    for v in ["1e30", "18446744073709551615", "1e18", "100000"] {
        let text = format!("32,32,3,3,3,{v},0,1\n");
        let e = insitu::chip::netlist::parse(&text, "NetWork.csv").unwrap_err();
        assert!(
            e.to_string().contains("NetWork.csv") && e.to_string().contains("limit"),
            "{v}: {e}"
        );
    }
    // The largest allowed arch estimates in bounded time.
    let c = cfg(&["network.arch=\"C64p100-FC10\"", "network.input=[3, 64, 64]"]);
    insitu::chip::experiment::report(&c, None).unwrap();
}

#[test]
fn huge_sweeps_and_shards_are_refused_quickly() {
    let dir = tmp("huge-sweep");
    std::fs::write(dir.join("base.toml"), "").unwrap();
    let values = format!(
        "[{}]",
        (0..100)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let axes: String = (0..4)
        .map(|i| format!("[[axis]]\nkey = \"train.k{i}\"\nvalues = {values}\n"))
        .collect();
    let grid = format!("base = \"base.toml\"\n{axes}");
    for (text, what) in [
        (grid.as_str(), "100000000 points"),
        ("base = \"base.toml\"\nseeds = 1000000000000", "seeds"),
        (
            "base = \"base.toml\"\nmode = \"random\"\nsamples = 1000000000000\n[[axis]]\nkey = \"optimizer.lr\"\nrange = [0.1, 1.0]",
            "points",
        ),
    ] {
        let s = sweep::spec::parse(text, &dir.join("s.toml")).unwrap();
        let e = sweep::expand(&s).unwrap_err().to_string();
        assert!(e.contains("at most 100000") && e.contains(what), "{e}");
    }
    let e = "0/1000000000000"
        .parse::<sweep::Shard>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most"), "{e}");
}

#[test]
fn shard_assignment_matches_the_least_loaded_rule() {
    // The heap assignment equals the plain "fewest points, lowest index" rule.
    let jobs: Vec<sweep::Job> = (0..200)
        .map(|i| sweep::Job {
            index: i,
            points: vec![0; 1 + (i * 7919) % 5],
            shared: vec![],
        })
        .collect();
    for count in [1, 2, 3, 7, 64, 500] {
        let mut load = vec![0usize; count];
        let naive: Vec<usize> = jobs
            .iter()
            .map(|j| {
                let s = (0..count).min_by_key(|&s| (load[s], s)).unwrap();
                load[s] += j.points.len();
                s
            })
            .collect();
        assert_eq!(sweep::shard::assign(&jobs, count), naive, "{count} shards");
    }
}

// ---------------------------------------------------------------- settings

#[test]
fn invalid_or_inapplicable_settings_are_errors() {
    let e = config_err(&["network.arch=\"C16-X-FC10\""]);
    assert!(e.contains("network.arch") && e.contains("\"X\""), "{e}");
    let e = config_err(&["population=[{c2c=0.1}]"]);
    assert!(e.contains("population[0]") && e.contains("[array]"), "{e}");
    let e = config_err(&["train.max_loss=0"]);
    assert!(e.contains("train.max_loss"), "{e}");
    // network.input must match the data on MLPs too.
    let c = cfg(&[
        "network.hidden=[8]",
        "network.input=[1, 28, 28]",
        "train.epochs=1",
    ]);
    let e = run_on(
        &mut CpuBackend::new(),
        &c,
        &split(64, 32, 4),
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("network.input"), "{e}");
    // A netlist describes another network than the one trained.
    let c = cfg(&[
        "network.hidden=[8]",
        "chip.netlist=\"x.csv\"",
        "train.epochs=1",
    ]);
    let e = run_on(
        &mut CpuBackend::new(),
        &c,
        &split(64, 32, 4),
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("chip.netlist"), "{e}");
}

#[test]
fn invalid_arch_fails_every_command() {
    let dir = tmp("bad-arch");
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[network]\narch = \"C16-Q-FC10\"\n").unwrap();
    let p = path.to_str().unwrap();
    for args in [
        vec!["--backend", "cpu", "train", p],
        vec!["estimate", p],
        vec!["--backend", "cpu", "compress", p],
    ] {
        let o = insitu(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("network.arch"), "{args:?}: {err}");
    }
    let o = insitu(&[
        "--backend",
        "cpu",
        "robustness",
        "--set",
        "network.arch=\"C16-Q-FC10\"",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("network.arch"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_conv_free_arch_trains_exactly_what_hidden_trains() {
    let base = [
        "train.epochs=2",
        "data.train_limit=300",
        "data.test_limit=200",
    ];
    let run = |extra: &str| {
        let mut s: Vec<&str> = base.to_vec();
        s.push(extra);
        let c = cfg(&s);
        let mut be = CpuBackend::new();
        run_on(
            &mut be,
            &c,
            &insitu::data::load(&c.data).unwrap(),
            &RunOptions::default(),
        )
        .unwrap()
    };
    let a = run("network.arch=\"FC24-FC16-FC10\"");
    let b = run("network.hidden=[24, 16]");
    let key = |r: &insitu::report::RunReport| {
        r.epochs
            .iter()
            .map(|e| (e.train_loss, e.test_accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b));
    assert_eq!(a.config.network.hidden, vec![24, 16]);
    // The arch's last layer must be the classes.
    let c = cfg(&["network.arch=\"FC24-FC7\"", "train.epochs=1"]);
    let e = run_on(
        &mut CpuBackend::new(),
        &c,
        &split(64, 32, 4),
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("7 outputs") && e.contains("4 classes"), "{e}");
}

// ---------------------------------------------------------------- data

#[test]
fn empty_and_single_class_data_are_refused() {
    let c = cfg(&["network.hidden=[8]", "train.epochs=1"]);
    let mut empty_train = split(64, 32, 4);
    empty_train.train = dataset(0, 4, [1, 8, 8]);
    let mut empty_test = split(64, 32, 4);
    empty_test.test = dataset(0, 4, [1, 8, 8]);
    let mut one_class = split(64, 32, 4);
    one_class.train.labels.iter_mut().for_each(|l| *l = 0);
    let mut one = split(64, 32, 1);
    one.train.classes = 1;
    for (s, what) in [
        (empty_train, "training set holds no images"),
        (empty_test, "test set holds no images"),
        (one_class, "every training label is 0"),
        (one, "1 class"),
    ] {
        for arch in [None, Some("C4-FC4")] {
            let mut c = c.clone();
            c.network.arch = arch.map(str::to_string);
            let e = run_on(&mut CpuBackend::new(), &c, &s, &RunOptions::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(what), "{arch:?}: {e}");
        }
    }
}

// ---------------------------------------------------------------- divergence

#[test]
fn a_huge_learning_rate_in_situ_diverges_cleanly_and_spares_its_population() {
    let c = config::load(
        &repo().join("configs/xbar_mlp_bp.toml"),
        &sets(&[
            "network.hidden=[16]",
            "train.epochs=2",
            "data.train_limit=400",
            "data.test_limit=200",
            "population=[{lr=1e300}, {lr=0.05}]",
        ]),
    )
    .unwrap();
    let split = insitu::data::load(&c.data).unwrap();
    let r = run_on(&mut CpuBackend::new(), &c, &split, &RunOptions::default()).unwrap();
    let d = r.instances[0]
        .diverged
        .as_ref()
        .expect("instance 0 diverged");
    assert_eq!(d.epoch, 1);
    assert!(d.step >= 1, "{d:?}");
    assert!(r.final_.as_ref().unwrap().diverged.is_some());
    assert!(r.instances[1].diverged.is_none());
    assert_eq!(
        r.instances[1].epochs.len(),
        2,
        "the healthy instance trained on"
    );
    assert!(
        r.instances[1].test_accuracy > 0.3,
        "{}",
        r.instances[1].test_accuracy
    );
    assert!(r.stopped.is_none());
    assert!(r.diverged());
}

#[test]
fn a_finite_blow_up_is_flagged_and_exits_with_its_own_status() {
    let dir = tmp("blowup");
    let out = dir.join("r.json");
    let o = insitu(&[
        "--backend",
        "cpu",
        "train",
        "configs/mlp_mnist_bp.toml",
        "--set",
        "optimizer.lr=1000",
        "--set",
        "network.hidden=[16]",
        "--set",
        "data.train_limit=1000",
        "--set",
        "train.epochs=3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(insitu::report::EXIT_DIVERGED),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let d = &r["final"]["diverged"];
    assert_eq!(d["epoch"], 1, "{d}");
    assert!(d["step"].as_u64().unwrap() >= 1, "{d}");
    assert!(r["stopped"].as_str().unwrap().contains("diverged"), "{r}");
    assert_eq!(r["epochs"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------- models

fn small_model() -> insitu::nn::model::Model {
    insitu::nn::model::Model::init("C4-M-FC3", [1, 4, 4], 3, insitu::config::Init::He, 1).unwrap()
}

#[test]
fn corrupt_models_are_refused_by_name() {
    use insitu::model_io::{from_bytes, to_bytes};
    // A header length of u64::MAX.
    let mut b = to_bytes(&small_model());
    b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let e = from_bytes(&b).unwrap_err().to_string();
    assert!(e.contains("header length"), "{e}");
    // A conv with stride 0: named before any shape is derived from it.
    let mut m = small_model();
    if let insitu::nn::model::Layer::Conv(c) = &mut m.layers[0] {
        c.stride = 0;
    }
    let e = from_bytes(&to_bytes(&m)).unwrap_err().to_string();
    assert!(e.contains("stride = 0"), "{e}");
    // All-NaN weights.
    let mut m = small_model();
    if let insitu::nn::model::Layer::Fc(f) = &mut m.layers[1] {
        f.weight.iter_mut().for_each(|w| *w = f32::NAN);
    }
    let e = from_bytes(&to_bytes(&m)).unwrap_err().to_string();
    assert!(e.contains("layers.1.weight") && e.contains("finite"), "{e}");
}

#[test]
fn a_model_must_match_the_experiment() {
    let m = small_model();
    let fewer =
        insitu::nn::model::Model::init("C4-M-FC2", [1, 4, 4], 2, insitu::config::Init::He, 1)
            .unwrap();
    let e = fewer.check_matches(&m).unwrap_err().to_string();
    assert!(e.contains("2 outputs") && e.contains("3 classes"), "{e}");
    let other =
        insitu::nn::model::Model::init("C8-M-FC3", [1, 4, 4], 3, insitu::config::Init::He, 1)
            .unwrap();
    let e = other.check_matches(&m).unwrap_err().to_string();
    assert!(e.contains("layer 0"), "{e}");
    m.check_matches(&m).unwrap();
}

// ---------------------------------------------------------------- outputs

#[test]
fn output_paths_are_checked_before_work() {
    let t0 = std::time::Instant::now();
    let o = insitu(&[
        "--backend",
        "cpu",
        "train",
        "configs/mlp_mnist_bp.toml",
        "--out",
        "/proc/no/such/r.json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("/proc/no/such"), "{err}");
    assert!(t0.elapsed().as_secs() < 20, "refused only after training");
    let o = insitu(&["--backend", "cpu", "robustness", "--out", "/proc"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("/proc"), "{err}");
}

#[test]
fn compress_save_keeps_the_whole_stem() {
    let (b, p) = insitu::cli::compress::save_paths(Path::new("out/model.v1"));
    assert_eq!(b, Path::new("out/model.v1.baseline.safetensors"));
    assert_eq!(p, Path::new("out/model.v1.penni.safetensors"));
    let (b, _) = insitu::cli::compress::save_paths(Path::new("m.safetensors"));
    assert_eq!(b, Path::new("m.baseline.safetensors"));
}

#[test]
fn a_closed_stdout_is_not_a_panic_and_keeps_the_file() {
    let dir = tmp("pipe");
    let out = dir.join("e.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_insitu"))
        .args([
            "estimate",
            "configs/neurosim_vgg8_inference.toml",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(o.status.code(), Some(101), "{err}");
    assert!(out.is_file());
}

// ---------------------------------------------------------------- sweeps

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

fn smoke() -> sweep::Sweep {
    sweep::load(&repo().join("configs/sweeps/smoke.toml")).unwrap()
}

/// A log or CSV with the wall-time fields blanked, lines sorted: what must be byte-identical.
fn stable(text: &str, csv: bool) -> Vec<String> {
    // The CSV's `seconds` column, found by name in the header.
    let col = text
        .lines()
        .next()
        .and_then(|h| h.split(',').position(|c| c == "seconds"));
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            if csv {
                let mut cells: Vec<&str> = l.split(',').collect();
                if let Some(c) = col.filter(|&c| c < cells.len()) {
                    cells[c] = "_";
                }
                cells.join(",")
            } else {
                let mut out = String::new();
                let mut rest = l;
                while let Some(at) = rest.find("\"seconds\":") {
                    let start = at + 10;
                    let end = rest[start..]
                        .find([',', '}'])
                        .map_or(rest.len(), |e| e + start);
                    out.push_str(&rest[..start]);
                    out.push('_');
                    rest = &rest[end..];
                }
                out.push_str(rest);
                out
            }
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn resumed_and_merged_sweeps_are_byte_identical_to_a_clean_run() {
    let s = smoke();
    let clean = tmp("clean");
    sweep::run(&s, &opts(&clean, false, None)).unwrap();
    let cut = tmp("cut");
    sweep::run(&s, &opts(&cut, false, Some(3))).unwrap();
    sweep::run(&s, &opts(&cut, true, None)).unwrap();
    let shards: Vec<PathBuf> = (0..2)
        .map(|i| {
            let d = tmp(&format!("shard{i}"));
            let mut o = opts(&d, false, None);
            o.shard = Some(format!("{i}/2").parse().unwrap());
            sweep::run(&s, &o).unwrap();
            d
        })
        .collect();
    let merged = tmp("merged");
    let _ = std::fs::remove_dir_all(&merged);
    sweep::merge(&shards, &merged).unwrap();
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    for (f, csv) in [("points.jsonl", false), ("points.csv", true)] {
        let want = stable(&read(&clean, f), csv);
        assert_eq!(stable(&read(&cut, f), csv), want, "resumed {f}");
        assert_eq!(stable(&read(&merged, f), csv), want, "merged {f}");
    }
}

#[test]
fn resume_refuses_foreign_duplicated_and_corrupt_records() {
    let s = smoke();
    let dir = tmp("forged");
    sweep::run(&s, &opts(&dir, false, Some(2))).unwrap();
    let log = dir.join("points.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let first: Record = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let mut foreign = first.clone();
    foreign.id = "00000000deadbeef".into();
    let mut corrupt = first.clone();
    corrupt.id = serde_json::from_str::<Record>(text.lines().nth(1).unwrap())
        .unwrap()
        .id;
    corrupt.index = 7;
    for (extra, what) in [
        (&first, "duplicated points"),
        (&foreign, "not in this sweep"),
        (&corrupt, "differ from their point"),
    ] {
        let mut t = text.clone();
        t.push_str(&serde_json::to_string(extra).unwrap());
        t.push('\n');
        std::fs::write(&log, t).unwrap();
        let e = sweep::run(&s, &opts(&dir, true, None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(what) && e.contains("points.jsonl"),
            "{what}: {e}"
        );
    }
}

#[test]
fn equal_values_and_zero_population_are_refused() {
    let dir = tmp("dup");
    std::fs::write(dir.join("base.toml"), "").unwrap();
    let s = sweep::spec::parse(
        "base = \"base.toml\"\n[[axis]]\nkey = \"optimizer.momentum\"\nvalues = [0, 0.0]",
        &dir.join("s.toml"),
    )
    .unwrap();
    let e = sweep::expand(&s).unwrap_err().to_string();
    assert!(e.contains("repeats point #0"), "{e}");
    let e = sweep::plan(&smoke(), Some(0)).err().unwrap().to_string();
    assert!(e.contains("--max-population 0"), "{e}");
}

// ---------------------------------------------------------------- GPU

#[test]
fn gpu_buffers_over_the_binding_limit_are_refused_and_divergence_stays_per_instance() {
    let mut be = common::gpu();
    let max = insitu::backend::Backend::max_buffer_values(&be);
    // A layer wider than the adapter binds (128 MiB on lavapipe): an error naming it.
    if 1024 * 65536 > max {
        let c = cfg(&["network.hidden=[65536]", "train.epochs=1"]);
        let wide = Split {
            train: dataset(64, 4, [1, 32, 32]),
            test: dataset(32, 4, [1, 32, 32]),
            name: "synthetic".into(),
        };
        let e = run_on(&mut be, &c, &wide, &RunOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("layer 1") && e.contains("binds at most"), "{e}");
    }
    let c = config::load(
        &repo().join("configs/xbar_mlp_bp.toml"),
        &sets(&[
            "network.hidden=[16]",
            "train.epochs=1",
            "data.train_limit=256",
            "data.test_limit=100",
            "population=[{lr=1e300}, {lr=0.05}]",
        ]),
    )
    .unwrap();
    let split = insitu::data::load(&c.data).unwrap();
    let r = run_on(&mut be, &c, &split, &RunOptions::default()).unwrap();
    assert!(r.instances[0].diverged.is_some());
    assert!(r.instances[1].diverged.is_none());
    assert!(r.instances[1].epochs[0].train_loss.is_finite());
}

#[test]
fn json_floats_read_back_exactly() {
    // Logs are re-read by --resume and merge and written again: every f64 must survive.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut checked = 0;
    while checked < 200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = f64::from_bits(x);
        if !v.is_finite() {
            continue;
        }
        let s = serde_json::to_string(&v).unwrap();
        let back: f64 = serde_json::from_str(&s).unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{s}");
        checked += 1;
    }
}
