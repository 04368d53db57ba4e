//! `train.mode = "neurosim"`: NeuroSim V2-compatible WAGE training learns, is reproducible,
//! saves the network it trained, and refuses settings its training loop does not model.

use insitu::backend::Gemm;
use insitu::config::{parse, ExperimentConfig};
use insitu::cpu::gemm::gemm;
use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::experiment::{run_on, RunOptions};
use insitu::nn::model::{Fc, Layer};
use insitu::report::RunReport;
use insitu::wage::quant::{clip, quantize};

const SHIPPED: &str = include_str!("../../configs/neurosim_mlp_training.toml");

/// The shipped config shrunk to a quick one-instance run.
fn small(extra: &[&str]) -> ExperimentConfig {
    let mut sets: Vec<String> = vec![
        "network.hidden=[64]".into(),
        "train.epochs=2".into(),
        "train.batch_size=50".into(),
        "data.train_limit=1000".into(),
        "data.test_limit=500".into(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    let mut cfg = parse(SHIPPED, "test", &sets).expect("test config");
    cfg.population.truncate(1);
    cfg
}

fn train(cfg: &ExperimentConfig) -> RunReport {
    let split = data::load(&cfg.data).expect("data");
    run_on(&mut CpuBackend::new(), cfg, &split, &RunOptions::default()).expect("run")
}

fn acc(r: &RunReport) -> f64 {
    r.final_.as_ref().unwrap().test_accuracy
}

#[test]
fn shipped_config_is_neurosim_default() {
    let cfg = parse(SHIPPED, "shipped", &[]).expect("shipped config");
    let dev = cfg.device.as_ref().unwrap();
    assert_eq!((dev.nl_ltp, dev.nl_ltd, dev.levels), (1.75, 1.46, 32));
    assert_eq!(dev.c2c, 0.003);
    assert_eq!(cfg.network.hidden, vec![256, 128]);
    assert_eq!((cfg.train.batch_size, cfg.train.epochs), (200, 3));
    assert_eq!(cfg.population.len(), 4);
}

/// Ten classes: chance is 10%; a few dozen quantized steps must get far past it.
#[test]
fn neurosim_mode_learns() {
    let r = train(&small(&[]));
    let a = acc(&r);
    assert!(a > 0.6, "test accuracy {a}");
    let e = &r.instances[0].epochs;
    assert!(e[1].train_loss < e[0].train_loss, "{e:?}");
}

#[test]
fn a_seed_reproduces_a_run() {
    let a = train(&small(&[]));
    let b = train(&small(&[]));
    let c = train(&small(&["seed=9", "population=[]"]));
    let key = |r: &RunReport| (r.epochs[1].train_loss, acc(r));
    assert_eq!(key(&a), key(&b));
    assert_ne!(key(&a), key(&c));
}

/// The shared epoch loop checks the loss every 16 steps: a bound no loss meets stops the run
/// after the epoch it first trips in, with where it tripped.
#[test]
fn divergence_stops_the_run_at_the_checked_step() {
    let r = train(&small(&["train.max_loss=1e-6"]));
    let d = r.instances[0].diverged.as_ref().expect("diverged");
    // 1,000 samples in batches of 50: checks at steps 16 and 20 of epoch 1.
    assert_eq!((d.epoch, d.step), (1, 16), "{d:?}");
    assert_eq!(r.instances[0].epochs.len(), 1);
    assert!(r.stopped.is_some() && r.diverged());
}

/// Settings outside NeuroSim's training loop are refused with the field named.
#[test]
fn unsupported_settings_are_named() {
    let err = |sets: &[&str]| {
        let mut all = vec!["network.hidden=[8]"];
        all.extend(sets);
        let sets: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        match parse(SHIPPED, "test", &sets) {
            Ok(_) => panic!("{sets:?} accepted"),
            Err(e) => e.to_string(),
        }
    };
    assert!(err(&["train.loss=\"cross_entropy\""]).contains("train.loss"));
    assert!(err(&["train.rule=\"dfa\""]).contains("train.rule"));
    assert!(err(&["network.activation=\"tanh\""]).contains("network.activation"));
    assert!(err(&["array.adc_bits=6"]).contains("`array`"));
    assert!(err(&["device.read_noise=0.01"]).contains("device.read_noise"));
    assert!(err(&["device.nl_d2d=0.1"]).contains("wage.nl_spread"));
    assert!(err(&["wage.weight_bits=1"]).contains("wage.weight_bits"));
    assert!(err(&["train.mode=\"bogus\""]).contains("neurosim"));
    assert!(err(&["train.mode=\"standard\""]).contains("`wage`"));
    let text = "[train]\nmode = \"neurosim\"\nloss = \"mse\"\n";
    let e = parse(text, "test", &[]).unwrap_err().to_string();
    assert!(e.contains("add [device]"), "{e}");
}

/// Per layer, the pre-activations of `x` (`rows` samples) through the fully connected
/// `layers`, hidden outputs through `act`.
fn forward(layers: &[&Fc], x: &[f32], rows: usize, act: impl Fn(f32) -> f32) -> Vec<Vec<f32>> {
    let mut zs: Vec<Vec<f32>> = Vec::new();
    let mut h = x.to_vec();
    for f in layers {
        let mut z = vec![0.0; rows * f.fan_out];
        let g = Gemm::dense(
            rows as u32,
            f.fan_out as u32,
            f.fan_in as u32,
            false,
            true,
            1,
        );
        gemm(&h, &f.weight, &mut z, &g);
        h = z.iter().map(|v| act(*v)).collect();
        zs.push(z);
    }
    zs
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |b, c| if row[c] > row[b] { c } else { b })
}

/// `--save` in neurosim mode writes the network as fully connected layers with the weights the
/// WAGE forward multiplies by, Q(w, b_w) / alpha_l, and zero biases. Run with the WAGE
/// activation rule h = relu(Q(C(z, b_a), b_a)) the file gives exactly the test accuracy the run
/// reports. A plain float ReLU forward of it (what `insitu eval` runs) differs only by that
/// rule: per hidden unit |relu(z) - relu(Q(C(z)))| (at most sigma(b_a)/2 = 2^-8 unless z is
/// clipped), carried forward through |W|; a sample can change class only if its WAGE margin is
/// within the carried bound, so the two accuracies differ by at most the share of such samples.
#[test]
fn saved_model_carries_the_wage_forward() {
    let cfg = small(&["network.hidden=[64, 32]", "train.epochs=1"]);
    let split = data::load(&cfg.data).expect("data");
    let path = std::env::temp_dir().join(format!("insitu-wage-{}.safetensors", std::process::id()));
    let opts = RunOptions {
        save: Some(path.clone()),
        ..Default::default()
    };
    let r = run_on(&mut CpuBackend::new(), &cfg, &split, &opts).expect("run");
    let model = insitu::model_io::load(&path).expect("saved model");
    let _ = std::fs::remove_file(&path);
    let fc: Vec<&Fc> = model
        .layers
        .iter()
        .map(|l| match l {
            Layer::Fc(f) => f,
            other => panic!("not fully connected: {other:?}"),
        })
        .collect();
    let widths: Vec<usize> = fc.iter().map(|f| f.fan_out).collect();
    assert_eq!(widths, vec![64, 32, 10]);
    // alpha = 32, 8, 4 for fan-ins 784, 64, 32 (5-bit weights, beta 24): every weight is a
    // multiple of sigma(5) / alpha and at most (1 - sigma(5)) / alpha in magnitude.
    for (f, alpha) in fc.iter().zip([32.0f32, 8.0, 4.0]) {
        assert!(f.bias.iter().all(|b| *b == 0.0));
        for w in &f.weight {
            let steps = w * alpha * 16.0;
            assert!(
                steps.fract() == 0.0 && steps.abs() <= 15.0,
                "{w} at alpha {alpha}"
            );
        }
    }
    let wage_act = |z: f32| quantize(clip(z, 8), 8).max(0.0);
    let relu = |z: f32| z.max(0.0);
    let test = &split.test;
    let (n, classes) = (test.len(), 10);
    let wage = forward(&fc, &test.images, n, wage_act);
    let float = forward(&fc, &test.images, n, relu);
    let (mut hits_wage, mut hits_float, mut uncertain) = (0, 0, 0);
    for s in 0..n {
        // d: per unit of the current hidden layer, a bound on |float - WAGE| output.
        let mut d: Vec<f32> = vec![0.0; test.features()];
        let mut bound = Vec::new();
        for (l, f) in fc.iter().enumerate() {
            let mut e = vec![0.0f32; f.fan_out];
            for (o, eo) in e.iter_mut().enumerate() {
                let row = &f.weight[o * f.fan_in..(o + 1) * f.fan_in];
                *eo = row.iter().zip(&d).map(|(w, di)| w.abs() * di).sum();
            }
            if l + 1 == fc.len() {
                bound = e;
                break;
            }
            let z = &wage[l][s * f.fan_out..(s + 1) * f.fan_out];
            d = e
                .iter()
                .zip(z)
                .map(|(eo, zo)| eo + (relu(*zo) - wage_act(*zo)).abs())
                .collect();
        }
        let yw = &wage[2][s * classes..(s + 1) * classes];
        let yf = &float[2][s * classes..(s + 1) * classes];
        let top = argmax(yw);
        let label = test.labels[s] as usize;
        hits_wage += (top == label) as usize;
        hits_float += (argmax(yf) == label) as usize;
        // 1e-5: float sums in another order.
        let clear = (0..classes)
            .filter(|c| *c != top)
            .all(|c| yw[top] - yw[c] > bound[top] + bound[c] + 1e-5);
        if clear {
            assert_eq!(argmax(yf), top, "sample {s}");
        } else {
            uncertain += 1;
        }
    }
    let acc_wage = hits_wage as f64 / n as f64;
    assert_eq!(acc_wage, r.instances[0].test_accuracy);
    // The float forward as `insitu eval` runs it.
    let ev = insitu::study::eval::evaluate(&mut CpuBackend::new(), &cfg, &model, &[], &split, "m")
        .expect("eval");
    let acc_float = hits_float as f64 / n as f64;
    assert_eq!(ev.float_accuracy, acc_float);
    let share = uncertain as f64 / n as f64;
    let hidden = wage[..2].iter().flatten();
    let clipped = hidden
        .clone()
        .filter(|z| z.abs() > 1.0 - 1.0 / 128.0)
        .count() as f64
        / hidden.count() as f64;
    eprintln!(
        "WAGE {acc_wage}, float {acc_float}, samples within the bound {share}, hidden units \
         clipped {clipped}"
    );
    assert!((acc_float - acc_wage).abs() <= share);
}

/// `insitu train --save` in neurosim mode, then `insitu eval` of the file on an in-situ
/// config's crossbars (same data): the float accuracy is the saved network's, and the
/// crossbar read of the mapped weights stays near it.
#[test]
fn cli_saves_and_evaluates_on_crossbars() {
    let dir = std::env::temp_dir().join(format!("insitu-wage-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (model, out) = (dir.join("m.safetensors"), dir.join("eval.json"));
    let run = |args: &[&str], path: &std::path::Path| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_insitu"))
            .args(["--backend", "cpu", "--quiet"])
            .args(args)
            .arg(path)
            .args([
                "--set",
                "network.hidden=[64]",
                "--set",
                "data.test_limit=300",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{args:?}: {err}");
    };
    let train = [
        "train",
        "configs/neurosim_mlp_training.toml",
        "--set",
        "population=[]",
        "--set",
        "train.epochs=2",
        "--set",
        "train.batch_size=50",
        "--set",
        "data.train_limit=1000",
        "--save",
    ];
    run(&train, &model);
    let eval = ["eval", "configs/xbar_mlp_bp.toml", "--model"];
    let mut args: Vec<&str> = eval.to_vec();
    args.push(model.to_str().unwrap());
    args.push("--out");
    run(&args, &out);
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(j["weights"], "mapped weights");
    let float = j["float_accuracy"].as_f64().unwrap();
    let xbar = j["instances"][0]["points"][0]["test_accuracy"]
        .as_f64()
        .unwrap();
    assert!(float > 0.5, "float {float}");
    assert!(
        (xbar - float).abs() < 0.1,
        "crossbars {xbar}, float {float}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
