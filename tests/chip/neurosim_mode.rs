//! `train.mode = "neurosim"`: NeuroSim V2-compatible WAGE training learns, is reproducible, and
//! refuses settings its training loop does not model.

use insitu::config::{parse, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::train::{run_on, RunOptions, RunReport};

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
