//! In-situ training on simulated crossbars: ideal limits, device presets, backends, populations.

use crate::common;

use insitu::backend::Backend;
use insitu::config::{parse, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::experiment::{run_on, RunOptions};
use insitu::report::RunReport;

/// The shipped in-situ config shrunk to a quick run.
fn small(rule: &str, extra: &[&str]) -> ExperimentConfig {
    let base = if rule == "dfa" {
        include_str!("../../configs/xbar_mlp_dfa.toml")
    } else {
        include_str!("../../configs/xbar_mlp_bp.toml")
    };
    let mut sets: Vec<String> = vec![
        "network.hidden=[64]".into(),
        "train.epochs=1".into(),
        "data.train_limit=1000".into(),
        "data.test_limit=500".into(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    parse(base, "test", &sets).expect("test config")
}

fn train(be: &mut dyn Backend, cfg: &ExperimentConfig) -> RunReport {
    let split = data::load(&cfg.data).expect("data");
    run_on(be, cfg, &split, &RunOptions::default()).expect("run")
}

fn acc(r: &RunReport) -> f64 {
    r.final_.as_ref().unwrap().test_accuracy
}

/// Ideal device, fine levels and converters: in-situ training follows float training.
#[test]
fn ideal_crossbar_training_tracks_float() {
    tracks_float(&["optimizer.momentum=0.0"]);
}

/// The same with Nesterov momentum: the cells are programmed with the Nesterov step.
#[test]
fn ideal_crossbar_nesterov_training_tracks_float() {
    tracks_float(&["optimizer.momentum=0.5", "optimizer.nesterov=true"]);
}

fn tracks_float(optimizer: &[&str]) {
    let mut ideal = vec![
        "device.preset=\"ideal\"",
        "device.levels=4096",
        "device.max_pulses_per_update=4096",
        "device.rounding=\"nearest\"",
        "array.weight_bits=8",
        "array.cell_bits=8",
        "array.input_bits=12",
        "array.error_bits=12",
        "array.adc_bits=14",
        "array.adc_bits_backward=14",
        "array.adc_mode=\"full\"",
    ];
    ideal.extend(optimizer);
    let x = train(&mut CpuBackend::new(), &small("bp", &ideal));
    let mut f = small("bp", &ideal);
    f.array = None;
    f.device = None;
    let fl = train(&mut CpuBackend::new(), &f);
    let (a, b) = (acc(&x), acc(&fl));
    assert!((a - b).abs() < 0.02, "in situ {a} vs float {b}");
    let (la, lb) = (x.epochs[0].train_loss, fl.epochs[0].train_loss);
    assert!((la - lb).abs() < 0.05 * lb, "loss {la} vs {lb}");
    assert!(x.activity[0].write_pulses > 0);
}

#[test]
fn fefet_crossbars_learn_with_bp_and_dfa() {
    let bp = train(&mut CpuBackend::new(), &small("bp", &[]));
    assert!(acc(&bp) > 0.75, "in-situ BP {}", acc(&bp));
    // DFA starts slower: two epochs of smaller batches.
    let dfa = train(
        &mut CpuBackend::new(),
        &small("dfa", &["train.epochs=2", "train.batch_size=32"]),
    );
    assert!(acc(&dfa) > 0.6, "in-situ DFA {}", acc(&dfa));
    let costed = insitu::chip::run_cost::run_cost(bp.clone());
    let cost = costed.cost.as_ref().expect("cost section");
    assert!(cost.area_mm2.total > 0.0);
    // BP reads every layer forward and every layer above the first transposed.
    assert!(bp.activity[0].forward.adc_conversions > 0);
    assert_eq!(bp.activity[0].transposed.adc_conversions, 0);
    assert!(bp.activity[1].transposed.adc_conversions > 0);
    assert!(
        dfa.activity
            .iter()
            .all(|a| a.transposed.adc_conversions == 0),
        "DFA reads no transposes"
    );
}

#[test]
fn too_few_adc_bits_degrade_accuracy_monotonically() {
    let accs: Vec<f64> = [2, 4, 8]
        .iter()
        .map(|b| {
            let bits = format!("array.adc_bits={b}");
            let back = format!("array.adc_bits_backward={b}");
            acc(&train(
                &mut CpuBackend::new(),
                &small("bp", &[&bits, &back, "array.adc_mode=\"full\""]),
            ))
        })
        .collect();
    assert!(accs[0] + 0.02 < accs[2], "2-bit ADC should lose: {accs:?}");
    assert!(
        accs[0] <= accs[1] + 0.01 && accs[1] <= accs[2] + 0.01,
        "{accs:?}"
    );
}

fn tiny(rule: &str, extra: &[&str]) -> ExperimentConfig {
    let mut e: Vec<&str> = vec![
        "network.hidden=[16]",
        "data.train_limit=200",
        "data.test_limit=200",
    ];
    e.extend(extra);
    small(rule, &e)
}

#[test]
fn gpu_and_cpu_agree_in_situ() {
    for rule in ["bp", "dfa"] {
        let cfg = tiny(rule, &[]);
        let g = train(&mut common::gpu(), &cfg);
        let c = train(&mut CpuBackend::new(), &cfg);
        let (a, b) = (acc(&g), acc(&c));
        assert!((a - b).abs() <= 0.03, "{rule}: gpu {a} vs cpu {b}");
        assert_eq!(
            g.activity[0].forward.adc_conversions,
            c.activity[0].forward.adc_conversions
        );
    }
}

/// Each instance of `cfg`'s population, trained together on the GPU, gives the loss and
/// accuracy it gives trained alone; returns the population's report.
fn instances_equal_alone_on_gpu(cfg: &ExperimentConfig) -> RunReport {
    let together = train(&mut common::gpu(), cfg);
    assert_eq!(together.instances.len(), cfg.population.len());
    for i in 0..cfg.population.len() {
        let mut one = cfg.clone();
        one.population = vec![cfg.population[i].clone()];
        let alone = train(&mut common::gpu(), &one);
        let (a, b) = (&together.instances[i].epochs[0], &alone.epochs[0]);
        assert!(
            (a.train_loss - b.train_loss).abs() < 1e-5,
            "instance {i}: {} vs {}",
            a.train_loss,
            b.train_loss
        );
        assert_eq!(a.test_accuracy, b.test_accuracy, "instance {i}");
    }
    together
}

#[test]
fn in_situ_population_equals_separate_runs_and_seeds_reproduce() {
    let pop = "population=[{seed=3, c2c=0.0}, {seed=4, c2c=0.02, nl_ltp=3.0, d2d=0.05, read_noise=0.01, lr=0.05}]";
    let cfg = tiny("bp", &[pop]);
    let together = instances_equal_alone_on_gpu(&cfg);
    let again = train(&mut common::gpu(), &cfg);
    assert_eq!(
        together.instances[1].epochs[0].train_loss,
        again.instances[1].epochs[0].train_loss
    );
}

/// The shipped in-situ BP config with four instances (one network, every kernel running all
/// four at once) on the GPU: each instance's numbers are those it gives trained alone.
#[test]
fn four_instance_population_equals_instances_alone_on_gpu() {
    let pop = "population=[{seed=3}, {seed=4, c2c=0.02}, {seed=5, lr=0.05}, {seed=6, d2d=0.05}]";
    instances_equal_alone_on_gpu(&tiny("bp", &[pop]));
}

/// DFA with quantized feedback arrays, ADC recalibration every few steps and per epoch and the
/// alignment diagnostic: a population's instances equal the same instances trained alone (CPU,
/// bit for bit), every instance reports one alignment per hidden layer, and recalibration
/// changes the run.
#[test]
fn quantized_feedback_with_recalibration_population_equals_separate_runs() {
    let pop = "population=[{seed=3}, {seed=4, c2c=0.02, read_noise=0.01, lr=0.03}]";
    let sets = [
        pop,
        "network.hidden=[16, 8]",
        "array.feedback_bits=4",
        "array.adc_recalibrate_steps=3",
        "array.adc_recalibrate_epoch=true",
        "train.alignment=true",
        "train.epochs=2",
    ];
    let cfg = tiny("dfa", &sets);
    let together = train(&mut CpuBackend::new(), &cfg);
    for i in 0..2 {
        let mut one = cfg.clone();
        one.population = vec![cfg.population[i].clone()];
        let alone = train(&mut CpuBackend::new(), &one);
        let (a, b) = (&together.instances[i].epochs, &alone.epochs);
        for (a, b) in a.iter().zip(b.iter()) {
            assert_eq!(a.train_loss, b.train_loss, "instance {i}");
            assert_eq!(a.test_accuracy, b.test_accuracy, "instance {i}");
            assert_eq!(a.alignment, b.alignment, "instance {i}");
            assert_eq!(a.alignment.as_ref().map(Vec::len), Some(2), "instance {i}");
        }
    }
    let mut fixed = cfg.clone();
    if let Some(a) = &mut fixed.array {
        a.adc_recalibrate_steps = 0;
        a.adc_recalibrate_epoch = false;
    }
    let fixed = train(&mut CpuBackend::new(), &fixed);
    assert_ne!(
        fixed.instances[0].epochs[1].train_loss, together.instances[0].epochs[1].train_loss,
        "recalibration changes the run"
    );
}

/// Training the last layer alone leaves the hidden layers' crossbars unprogrammed.
#[test]
fn last_layer_only_programs_only_the_last_layer() {
    let cfg = tiny(
        "dfa",
        &["train.last_layer_only=true", "array.feedback_bits=4"],
    );
    let r = train(&mut CpuBackend::new(), &cfg);
    assert_eq!(r.activity.len(), 2);
    assert_eq!(r.activity[0].write_pulses, 0);
    assert!(r.activity[1].write_pulses > 0);
}
