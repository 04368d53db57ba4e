//! Saving every network, `insitu eval` on crossbars (populations, drift, programmed
//! conductances), NumPy and CIFAR-100 data, and models in the documented safetensors naming.

use std::path::{Path, PathBuf};

use insitu::config::{parse, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data::{self, DataConfig, Split};
use insitu::experiment::{run, RunOptions};
use insitu::model_io;
use insitu::nn::model::Layer;
use insitu::study::eval::{evaluate, EvalReport};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-eval-data-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A small in-situ MLP on the FeFET-like arrays of configs/xbar_mlp_bp.toml.
fn insitu_mlp(extra: &[&str]) -> ExperimentConfig {
    let text = std::fs::read_to_string("configs/xbar_mlp_bp.toml").unwrap();
    let mut sets: Vec<String> = [
        "network.hidden=[32]",
        "train.epochs=1",
        "data.train_limit=1000",
        "data.test_limit=300",
        "device.d2d=0.05",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    sets.extend(extra.iter().map(|s| s.to_string()));
    parse(&text, "configs/xbar_mlp_bp.toml", &sets).unwrap()
}

fn eval_file(cfg: &ExperimentConfig, path: &Path, split: &Split) -> EvalReport {
    let (model, cells) = insitu::study::eval::load(path).unwrap();
    evaluate(&mut CpuBackend::new(), cfg, &model, &cells, split, "test").unwrap()
}

#[test]
fn float_mlp_saves_reloads_and_evaluates_to_its_training_accuracy() {
    let dir = tmp("float");
    let path = dir.join("mlp.safetensors");
    let cfg = parse(
        "[network]\nhidden = [24]\n[train]\nepochs = 1\n[data]\ntrain_limit = 800\ntest_limit = 200",
        "test",
        &[],
    )
    .unwrap();
    let opts = RunOptions {
        save: Some(path.clone()),
        ..Default::default()
    };
    let r = run(&mut CpuBackend::new(), &cfg, &opts).unwrap();
    let model = model_io::load(&path).unwrap();
    assert_eq!(model.input, [1, 28, 28]);
    let shapes: Vec<(usize, usize)> = model
        .layers
        .iter()
        .map(|l| match l {
            Layer::Fc(f) => (f.fan_in, f.fan_out),
            Layer::Conv(_) => panic!("an MLP saves fc layers"),
        })
        .collect();
    assert_eq!(shapes, [(784, 24), (24, 10)]);
    assert!(model_io::cells::from_bytes(&std::fs::read(&path).unwrap())
        .unwrap()
        .is_empty());
    let split = data::load(&cfg.data).unwrap();
    let e = eval_file(&cfg, &path, &split);
    let trained = r.final_.unwrap().test_accuracy;
    assert!(trained > 0.6, "{trained}");
    // The same weights through the conv engine's FC layers: summation order may flip a tie.
    assert!(
        (e.float_accuracy - trained).abs() <= 1.0 / 200.0,
        "eval {} vs training {trained}",
        e.float_accuracy
    );
    assert!(e.instances.is_empty(), "no [array]: float only");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn insitu_mlp_eval_reproduces_training_and_drift_lowers_accuracy() {
    let dir = tmp("insitu");
    let path = dir.join("mlp.safetensors");
    let cfg = insitu_mlp(&[]);
    let opts = RunOptions {
        save: Some(path.clone()),
        ..Default::default()
    };
    let r = run(&mut CpuBackend::new(), &cfg, &opts).unwrap();
    let trained = r.final_.unwrap().test_accuracy;
    let cells = model_io::cells::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(cells.len(), 2, "both layers' conductances are saved");
    assert!(cells.iter().all(|(_, c)| c.adc_range_fwd.is_some()));
    let split = data::load(&cfg.data).unwrap();

    // Same chip: instance 0 is the trained chip and reads exactly what training read.
    let e = eval_file(&cfg, &path, &split);
    assert_eq!(e.weights, "programmed conductances");
    assert_eq!(e.instances.len(), 1);
    assert_eq!(e.instances[0].points[0].test_accuracy, trained);

    // A population of chips under drift: every instance at every time, then mean and spread.
    let drifting = insitu_mlp(&[
        "device.drift.nu=0.1",
        "device.drift.t=[1, 3600, 86400, 31557600]",
        "population=[{}, {seed = 7}, {seed = 8, d2d = 0.1}]",
    ]);
    let d = eval_file(&drifting, &path, &split);
    assert_eq!(d.instances.len(), 3);
    assert_eq!(d.times.len(), 4);
    assert!(d.instances.iter().all(|i| i.points.len() == 4));
    assert_eq!(d.instances[0].points[0].test_accuracy, trained);
    assert_eq!((d.instances[1].seed, d.instances[2].d2d), (7, 0.1));
    let first = d.times[0].mean;
    let year = d.times[3].mean;
    eprintln!(
        "drift nu=0.1, mean accuracy at 1 s, 1 h, 1 d, 1 y: {:?}",
        d.times.iter().map(|t| t.mean).collect::<Vec<_>>()
    );
    assert!(
        year < first - 0.02,
        "a year of drift lowers accuracy: {first} -> {year}"
    );
    for t in &d.times {
        assert!(t.min <= t.mean && t.mean <= t.max && t.std >= 0.0);
    }

    // Another chip (other weight bits): the weights are programmed instead, with a note.
    let other = insitu_mlp(&["array.weight_bits=6", "array.cell_bits=2"]);
    let o = eval_file(&other, &path, &split);
    assert_eq!(o.weights, "mapped weights");
    assert!(o.note.as_deref().unwrap_or("").contains("weight_bits"));
    assert!(o.instances[0].points[0].test_accuracy > 0.5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn drift_times_scalar_or_list() {
    let one = parse("[array]\n[device]\n[device.drift]\nt = 10", "t", &[]).unwrap();
    let d = &one.device.unwrap().drift;
    assert_eq!((d.t, d.times.clone()), (10.0, vec![10.0]));
    let many = parse(
        "[array]\n[device]\n[device.drift]\nnu = 0.05\nt = [1, 3600.5]",
        "t",
        &[],
    )
    .unwrap();
    let d = many.device.clone().unwrap().drift;
    assert_eq!((d.t, d.times.clone()), (1.0, vec![1.0, 3600.5]));
    // Through the preset merge and back to TOML (reports and sweeps serialise configs).
    let text = toml::to_string(&many.device).unwrap();
    assert!(text.contains("t = [1.0, 3600.5]"), "{text}");
    for bad in ["t = []", "t = [1, 0.5]", "t = \"soon\""] {
        let e = parse(
            &format!("[array]\n[device]\n[device.drift]\n{bad}"),
            "t",
            &[],
        );
        let msg = e.unwrap_err().to_string();
        assert!(msg.contains("device"), "{bad}: {msg}");
    }
}

/// A `.npy` file of `dtype` (`|u1`, `<f4`, `<i8`, ...) holding `data` (little-endian bytes).
fn npy(dtype: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// `n` 3x16x16 images (channels last) in 4 classes: the class sets which channel is bright
/// (class 3: all of them), with pixel noise.
fn rgb16(n: usize, stream: u32) -> (Vec<u8>, Vec<u8>) {
    let mut state = 0x9e37_79b9u32.wrapping_mul(stream + 1);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 64) as u8
    };
    let (mut px, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let class = (i % 4) as u8;
        labels.push(class);
        for _ in 0..16 * 16 {
            for ch in 0..3u8 {
                let bright = class == 3 || class == ch;
                px.push(if bright { 150 } else { 40 } + noise());
            }
        }
    }
    (px, labels)
}

fn write_rgb16(dir: &Path) {
    let (x, y) = rgb16(400, 1);
    std::fs::write(dir.join("x_train.npy"), npy("|u1", &[400, 16, 16, 3], &x)).unwrap();
    let y64: Vec<u8> = y.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect();
    std::fs::write(dir.join("y_train.npy"), npy("<i8", &[400], &y64)).unwrap();
    let (x, y) = rgb16(100, 2);
    std::fs::write(dir.join("x_test.npy"), npy("|u1", &[100, 16, 16, 3], &x)).unwrap();
    std::fs::write(dir.join("y_test.npy"), npy("|u1", &[100], &y)).unwrap();
}

#[test]
fn npy_rgb_images_train_a_conv_net() {
    let dir = tmp("npy");
    write_rgb16(&dir);
    let text = format!(
        "[data]\nsource = \"npy\"\npath = {:?}\n[network]\narch = \"C8-M-C8-M-FC4\"\n\
         [train]\nepochs = 3\nbatch_size = 32\n[optimizer]\nlr = 0.02",
        dir.display().to_string()
    );
    let cfg = parse(&text, "test", &[]).unwrap();
    let split = data::load(&cfg.data).unwrap();
    assert_eq!(split.train.shape, [3, 16, 16]);
    assert_eq!((split.train.classes, split.train.len()), (4, 400));
    // Channels last became channel planes: image 1 (class 1) is bright in green only.
    let img = split.train.image(1);
    let mean = |c: usize| img[c * 256..(c + 1) * 256].iter().sum::<f32>() / 256.0;
    assert!(mean(1) > 0.5 && mean(0) < 0.35 && mean(2) < 0.35);
    let r = run(&mut CpuBackend::new(), &cfg, &RunOptions::default()).unwrap();
    let acc = r.final_.unwrap().test_accuracy;
    assert!(acc > 0.7, "4 classes, chance 0.25: {acc}");

    // The same set as one .npz archive (float32 NCHW images), evaluated with the trained net.
    let (x, y) = rgb16(100, 2);
    let xf: Vec<u8> = (0..100)
        .flat_map(|n| {
            let x = &x;
            (0..3).flat_map(move |c| {
                (0..256).flat_map(move |p| (x[n * 768 + p * 3 + c] as f32 / 255.0).to_le_bytes())
            })
        })
        .collect();
    let npz = dir.join("set.npz");
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::fs::File::create(&npz).unwrap());
        let opt = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in [
            ("train_images.npy", npy("<f4", &[100, 3, 16, 16], &xf)),
            ("train_labels.npy", npy("|u1", &[100], &y)),
            ("test_images.npy", npy("<f4", &[100, 3, 16, 16], &xf)),
            ("test_labels.npy", npy("|u1", &[100, 1], &y)),
        ] {
            z.start_file(name, opt).unwrap();
            z.write_all(&bytes).unwrap();
        }
        z.finish().unwrap();
    }
    let zcfg = DataConfig {
        source: data::Source::Npy,
        path: Some(npz.display().to_string()),
        ..Default::default()
    };
    let zsplit = data::load(&zcfg).unwrap();
    assert_eq!(zsplit.test.shape, [3, 16, 16]);
    let want: Vec<f32> = split.test.images.clone();
    let got = &zsplit.test.images;
    assert!(want.iter().zip(got).all(|(a, b)| (a - b).abs() < 1e-6));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn npy_error(files: &[(&str, Vec<u8>)], extra: &str) -> String {
    let dir = tmp(&format!("npyerr-{}", files.len() * 31 + extra.len()));
    let (x, y) = rgb16(8, 3);
    let defaults = [
        ("x_train.npy", npy("|u1", &[8, 16, 16, 3], &x)),
        ("y_train.npy", npy("|u1", &[8], &y)),
        ("x_test.npy", npy("|u1", &[8, 16, 16, 3], &x)),
        ("y_test.npy", npy("|u1", &[8], &y)),
    ];
    for (name, bytes) in defaults {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let text = format!(
        "[data]\nsource = \"npy\"\npath = {:?}\n{extra}",
        dir.display().to_string()
    );
    let msg = match parse(&text, "test", &[]) {
        Ok(cfg) => data::load(&cfg.data).unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    std::fs::remove_dir_all(&dir).unwrap();
    msg
}

#[test]
fn malformed_npy_files_are_named_with_what_was_expected() {
    let (x, _) = rgb16(8, 3);
    let full = npy("|u1", &[8, 16, 16, 3], &x);
    let cut = full[..full.len() - 100].to_vec();
    let m = npy_error(&[("x_train.npy", cut)], "");
    assert!(m.contains("x_train.npy") && m.contains("truncated"), "{m}");
    let m = npy_error(&[("x_train.npy", b"not numpy at all".to_vec())], "");
    assert!(m.contains("x_train.npy") && m.contains("NUMPY"), "{m}");
    let m = npy_error(&[("y_train.npy", npy("<f4", &[8], &[0; 32]))], "");
    assert!(m.contains("y_train.npy") && m.contains("integer"), "{m}");
    let m = npy_error(&[("x_train.npy", npy("|u1", &[8, 768], &x))], "");
    assert!(m.contains("x_train.npy") && m.contains("[N, H, W]"), "{m}");
    let m = npy_error(&[("y_test.npy", npy("|u1", &[7], &[0; 7]))], "");
    assert!(m.contains("8 images") && m.contains("7 labels"), "{m}");
    let m = npy_error(&[("y_test.npy", npy("|u1", &[8], &[9; 8]))], "");
    assert!(m.contains("label 9") && m.contains("0..4"), "{m}");
    let ambiguous = npy("|u1", &[2, 3, 4, 3], &[0; 72]);
    let m = npy_error(&[("x_train.npy", ambiguous)], "");
    assert!(m.contains("data.layout"), "{m}");
    let m = npy_error(&[], "cifar100_labels = \"coarse\"");
    assert!(m.contains("data.cifar100_labels"), "{m}");
    let f = npy(
        "<f4",
        &[8, 3, 16, 16],
        &[0x00, 0x00, 0x00, 0x40].repeat(8 * 768),
    );
    let m = npy_error(&[("x_train.npy", f.clone()), ("x_test.npy", f)], "");
    assert!(
        m.contains("outside [0, 1]") && m.contains("standard"),
        "{m}"
    );
}

#[test]
fn cifar100_fine_or_coarse_labels() {
    let dir = tmp("cifar100");
    let record = |coarse: u8, fine: u8| {
        let mut r = vec![coarse, fine];
        r.extend(std::iter::repeat_n(fine, 3072));
        r
    };
    let train: Vec<u8> = [(3, 97), (19, 0), (0, 42)]
        .iter()
        .flat_map(|&(c, f)| record(c, f))
        .collect();
    std::fs::write(dir.join("train.bin"), &train).unwrap();
    std::fs::write(dir.join("test.bin"), record(5, 55)).unwrap();
    let load = |labels: &str| {
        let text = format!(
            "[data]\nsource = \"cifar100\"\npath = {:?}\ncifar100_labels = \"{labels}\"",
            dir.display().to_string()
        );
        data::load(&parse(&text, "test", &[]).unwrap().data)
    };
    let fine = load("fine").unwrap();
    assert_eq!(
        (fine.train.labels.clone(), fine.train.classes),
        (vec![97, 0, 42], 100)
    );
    assert_eq!(fine.train.shape, [3, 32, 32]);
    assert_eq!(fine.train.image(2)[0], 42.0 / 255.0);
    let coarse = load("coarse").unwrap();
    assert_eq!(
        (coarse.train.labels.clone(), coarse.test.classes),
        (vec![3, 19, 0], 20)
    );
    std::fs::write(dir.join("test.bin"), &train[..5000]).unwrap();
    let m = load("fine").unwrap_err().to_string();
    assert!(m.contains("test.bin") && m.contains("3074"), "{m}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Models written by scripts/export_pytorch.py from PyTorch-named state_dicts
/// (tests/fixtures/make_torch_fixtures.py): an nn.Sequential MLP and a conv net with batch norm.
#[test]
fn pytorch_exported_models_evaluate_on_crossbars() {
    let split = data::load(&DataConfig {
        train_limit: 64,
        test_limit: 300,
        ..Default::default()
    })
    .unwrap();
    for (file, floor) in [
        ("tests/fixtures/torch_mlp.safetensors", 0.8),
        ("tests/fixtures/torch_cnn.safetensors", 0.7),
    ] {
        let text = std::fs::read_to_string("configs/xbar_mlp_bp.toml").unwrap();
        let cfg = parse(
            &text,
            "configs/xbar_mlp_bp.toml",
            &["array.cell_bits=2".into(), "array.weight_bits=6".into()],
        )
        .unwrap();
        let e = eval_file(&cfg, Path::new(file), &split);
        assert_eq!(e.weights, "mapped weights");
        let acc = e.instances[0].points[0].test_accuracy;
        eprintln!("{file}: float {}, crossbars {acc}", e.float_accuracy);
        assert!(e.float_accuracy > floor, "{file}: {}", e.float_accuracy);
        assert!(acc > floor - 0.05, "{file}: {acc}");
        assert!(e.cost.is_some());
    }
}

#[test]
fn cli_eval_prints_instances_and_times() {
    let dir = tmp("cli");
    let out = dir.join("eval.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_insitu"))
        .args([
            "--backend",
            "cpu",
            "eval",
            "configs/xbar_mlp_bp.toml",
            "--model",
        ])
        .arg("tests/fixtures/torch_mlp.safetensors")
        .args([
            "--set",
            "data.test_limit=100",
            "--set",
            "device.drift.nu=0.05",
            "--set",
            "device.drift.t=[1,86400]",
            "--set",
            "population=[{},{seed=5}]",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("t=1s") && stdout.contains("t=1d"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mean") && stdout.contains("std"),
        "{stdout}"
    );
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(j["instances"].as_array().unwrap().len(), 2);
    assert_eq!(j["times"].as_array().unwrap().len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
