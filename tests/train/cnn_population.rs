//! Populations: P instances trained in one run (one network holding all of them, every kernel
//! one dispatch for all), each with its own seed, learning rate and device knobs on the
//! shared data order, give per instance exactly the numbers of that instance trained alone
//! (CPU backend, bit for bit).

use crate::common;

use insitu::config::{parse, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data::Split;
use insitu::experiment::{run_on, RunOptions};
use insitu::report::RunReport;

const ARCH: &str = "C3-M-FC6";
const SHAPE: [usize; 3] = [1, 8, 8];

fn split() -> Split {
    Split {
        train: common::random_dataset(20, 30, SHAPE, 6),
        test: common::random_dataset(10, 40, SHAPE, 6),
        name: "random".into(),
    }
}

const SMALL: &[&str] = &["train.epochs=2", "train.batch_size=8"];

fn float_config(extra: &[&str]) -> ExperimentConfig {
    let mut sets: Vec<String> = vec![format!("network.arch=\"{ARCH}\"")];
    sets.extend(SMALL.iter().chain(extra).map(|s| s.to_string()));
    parse(include_str!("../../configs/cnn_mnist.toml"), "test", &sets).unwrap()
}

fn insitu_config(extra: &[&str]) -> ExperimentConfig {
    let sets: Vec<&str> = SMALL.iter().chain(extra).copied().collect();
    common::xbar_cnn_config(ARCH, &sets)
}

fn train(cfg: &ExperimentConfig) -> RunReport {
    run_on(
        &mut CpuBackend::new(),
        cfg,
        &split(),
        &RunOptions::default(),
    )
    .unwrap()
}

/// Trains the population of `cfg`, then every instance alone; their epochs must agree.
fn population_equals_instances_alone(cfg: &ExperimentConfig, what: &str) {
    let together = train(cfg);
    assert_eq!(together.instances.len(), 4, "{what}");
    for (i, inst) in together.instances.iter().enumerate() {
        let mut one = cfg.clone();
        one.population = vec![cfg.population[i].clone()];
        let alone = train(&one);
        assert_eq!(alone.instances.len(), 1);
        assert_eq!(inst.seed, alone.instances[0].seed, "{what} instance {i}");
        assert_eq!(inst.lr, alone.instances[0].lr, "{what} instance {i}");
        assert_eq!(inst.knobs, alone.instances[0].knobs, "{what} instance {i}");
        assert_eq!(inst.epochs.len(), 2);
        for (a, b) in inst.epochs.iter().zip(&alone.instances[0].epochs) {
            let e = a.epoch;
            assert_eq!(a.train_loss, b.train_loss, "{what} instance {i} epoch {e}");
            assert_eq!(
                a.train_accuracy, b.train_accuracy,
                "{what} instance {i} epoch {e}"
            );
            assert_eq!(
                a.test_accuracy, b.test_accuracy,
                "{what} instance {i} epoch {e}"
            );
        }
    }
    let losses: Vec<f64> = together
        .instances
        .iter()
        .map(|i| i.epochs[1].train_loss)
        .collect();
    for i in 1..losses.len() {
        assert!(
            !losses[..i].contains(&losses[i]),
            "{what}: instances differ: {losses:?}"
        );
    }
    let spread = together.spread.as_ref().expect("a population has a spread");
    assert_eq!(spread.test_accuracy.n, 4);
}

/// Training runs batches of 8, 8 and 4 images (a partial last batch), testing 8 and 2.
#[test]
fn float_conv_population_equals_instances_alone() {
    let pop = "population=[{seed=5, lr=0.01}, {seed=6, lr=0.05}, {seed=7}, {seed=8, lr=0.002}]";
    let cfg = float_config(&[pop]);
    population_equals_instances_alone(&cfg, "float");
}

#[test]
fn insitu_conv_population_equals_instances_alone() {
    let pop = "population=[{seed=5}, {seed=6, lr=0.05, c2c=0.05}, {seed=7, d2d=0.2}, \
               {seed=8, read_noise=0.02, nl_ltp=3.0}]";
    let cfg = insitu_config(&[pop, "device.stuck_off=0.02"]);
    let r = train(&cfg);
    assert!(
        !r.activity.is_empty(),
        "in-situ runs count crossbar activity"
    );
    assert!(r.instances.iter().all(|i| i.knobs.is_some()));
    population_equals_instances_alone(&cfg, "in situ");
}

/// DFA with a projection onto every conv layer (ideal feedback, and in situ also quantized
/// feedback arrays), two conv layers (the second unrolls every instance's maps) and a hidden
/// FC layer, in float and in situ.
#[test]
fn dfa_conv_population_equals_instances_alone() {
    let arch = "network.arch=\"C4-M-C8-M-FC8-FC6\"";
    let dfa = ["train.rule=\"dfa\"", "train.dfa_scope=\"all\""];
    let pop = "population=[{seed=5, lr=0.02}, {seed=6}, {seed=7, lr=0.005}, {seed=8}]";
    let cfg = float_config(&[arch, dfa[0], dfa[1], pop]);
    population_equals_instances_alone(&cfg, "float DFA");
    let pop = "population=[{seed=5}, {seed=6, c2c=0.05}, {seed=7, d2d=0.2}, {seed=8, lr=0.05}]";
    let cfg = insitu_config(&[arch, dfa[0], dfa[1], pop]);
    population_equals_instances_alone(&cfg, "in-situ DFA");
    // Every layer's feedback on one quantized array per instance.
    let cfg = insitu_config(&[arch, dfa[0], dfa[1], pop, "array.feedback_bits=4"]);
    population_equals_instances_alone(&cfg, "in-situ DFA, feedback arrays");
}

/// Batch norm, an identity shortcut and a strided projection with batch norm, global pooling.
#[test]
fn residual_bn_conv_population_equals_instances_alone() {
    let arch = "network.arch=\"C4b-R4-R8s2-G-FC6\"";
    let pop = "population=[{seed=5, lr=0.01}, {seed=6, lr=0.05}, {seed=7}, {seed=8, lr=0.002}]";
    let cfg = float_config(&[arch, pop]);
    population_equals_instances_alone(&cfg, "residual BN");
    let cfg = insitu_config(&[arch, "population=[{seed=5}, {seed=6, c2c=0.05}]"]);
    let r = train(&cfg);
    assert!(r
        .instances
        .iter()
        .all(|i| i.epochs[1].train_loss.is_finite()));
}

/// On the GPU: every instance of a conv population (BP and DFA, float and in situ, batch norm
/// and shortcuts, a partial last batch) gives the numbers it gives trained alone.
#[test]
fn conv_population_equals_instances_alone_on_gpu() {
    let dfa = ["train.rule=\"dfa\"", "train.dfa_scope=\"all\""];
    let pop = "population=[{seed=5, lr=0.02}, {seed=6}, {seed=7, lr=0.005}, {seed=8}]";
    let xpop = "population=[{seed=5}, {seed=6, c2c=0.05}, {seed=7, d2d=0.2}, {seed=8, lr=0.05}]";
    let residual = "network.arch=\"C4b-R4-R8s2-G-FC6\"";
    let two = "network.arch=\"C4-M-C8-M-FC8-FC6\"";
    let cases = [
        ("float BP", float_config(&[pop])),
        ("float residual", float_config(&[residual, pop])),
        ("float DFA", float_config(&[two, dfa[0], dfa[1], pop])),
        ("in-situ BP", insitu_config(&[two, xpop])),
        ("in-situ DFA", insitu_config(&[two, dfa[0], dfa[1], xpop])),
    ];
    for (what, cfg) in cases {
        let run = |cfg: &ExperimentConfig| {
            run_on(&mut common::gpu(), cfg, &split(), &RunOptions::default()).unwrap()
        };
        let together = run(&cfg);
        assert_eq!(together.instances.len(), 4, "{what}");
        for i in 0..4 {
            let mut one = cfg.clone();
            one.population = vec![cfg.population[i].clone()];
            let alone = run(&one);
            for (a, b) in together.instances[i].epochs.iter().zip(&alone.epochs) {
                let e = a.epoch;
                assert!(
                    (a.train_loss - b.train_loss).abs() < 1e-5,
                    "{what} instance {i} epoch {e}: {} vs {}",
                    a.train_loss,
                    b.train_loss
                );
                assert_eq!(a.test_accuracy, b.test_accuracy, "{what} {i} epoch {e}");
            }
        }
    }
}

/// A conv population's `--save` writes instance 0: the model (and cells) it would write alone.
#[test]
fn conv_population_saves_instance_zero() {
    let cfg = insitu_config(&["population=[{seed=5}, {seed=6}]", "train.epochs=1"]);
    saves_instance_zero(&cfg, "cnn");
}

/// `--save` of `cfg`'s population writes the bytes its first instance writes alone.
fn saves_instance_zero(cfg: &ExperimentConfig, tag: &str) {
    let dir = std::env::temp_dir().join(format!("insitu-{tag}-pop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut one = cfg.clone();
    one.population.truncate(1);
    let mut files = Vec::new();
    for (name, c) in [("pop", cfg), ("one", &one)] {
        let path = dir.join(format!("{name}.safetensors"));
        let opts = RunOptions {
            save: Some(path.clone()),
            ..RunOptions::default()
        };
        run_on(&mut CpuBackend::new(), c, &split(), &opts).unwrap();
        files.push(std::fs::read(&path).unwrap());
    }
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(files[0], files[1], "instance 0's model and cells");
}

/// An FC-only or conv population is one network holding every instance (each kernel runs all
/// of them in one dispatch).
#[test]
fn fc_and_conv_populations_are_one_network() {
    use insitu::train::trainer::{self, Trainer};
    let s = split();
    for arch in ["FC12-FC6", ARCH, "C4b-R4-R8s2-G-FC6"] {
        let cfg = float_config(&[&format!("network.arch=\"{arch}\"")]);
        let models: Vec<_> = (0..4)
            .map(|seed| trainer::init_model_seeded(&cfg, &s, seed).unwrap())
            .collect();
        let inst: Vec<_> = models.iter().zip(0..).collect();
        let mut be = CpuBackend::new();
        let h = trainer::hyper(&cfg, s.train.len());
        let t = Trainer::population(&mut be, &inst, h, &s, 1).unwrap();
        assert_eq!(t.net.instances, 4, "{arch}");
    }
}

/// An in-situ FC-only population (one network of four instances, DFA on quantized feedback
/// arrays) gives per instance the numbers of that instance trained alone, and `--save` writes
/// instance 0's model and cells.
#[test]
fn insitu_fc_population_equals_instances_alone_and_saves_instance_zero() {
    let pop = "population=[{seed=5}, {seed=6, c2c=0.02}, {seed=7, lr=0.05}, {seed=8, d2d=0.05}]";
    let cfg = common::xbar_cnn_config(
        "FC12-FC6",
        &[
            SMALL[0],
            SMALL[1],
            pop,
            "train.rule=\"dfa\"",
            "array.feedback_bits=4",
        ],
    );
    population_equals_instances_alone(&cfg, "in-situ FC");
    saves_instance_zero(&cfg, "fc");
}

/// PENNI models of one shape (`d` = 3 bases per conv, the shared-image layer and one reading
/// every instance's maps) from different seeds, one of them pruned (other sparsity).
fn penni_models() -> Vec<insitu::nn::model::Model> {
    use insitu::compress::penni;
    use insitu::nn::model::Model;
    (0..3)
        .map(|seed| {
            let mut m =
                Model::init("C4-M-C8-M-FC6", SHAPE, 6, insitu::config::Init::He, seed).unwrap();
            penni::decompose(&mut m, 3);
            if seed == 1 {
                penni::prune(&mut m, 1.0);
            }
            m
        })
        .collect()
}

/// Every instance's model after two epochs of training `models` (PENNI training form) as one
/// population on `be`, and whether that was one network of every instance.
fn penni_trained(
    be: &mut dyn insitu::backend::Backend,
    models: &[insitu::nn::model::Model],
) -> (Vec<insitu::nn::model::Model>, bool) {
    use insitu::train::trainer::{self, Trainer};
    let (s, cfg) = (split(), float_config(&[]));
    let inst: Vec<_> = models.iter().zip(0..).collect();
    let h = trainer::hyper(&cfg, s.train.len());
    let mut t = Trainer::population(be, &inst, h, &s, 1).unwrap();
    let one = t.net.instances == models.len();
    let bar = indicatif::ProgressBar::hidden();
    for epoch in 0..2 {
        t.train_epoch(epoch, &bar);
    }
    let trained = (0..models.len())
        .map(|i| t.net.to_model_at(t.be, i))
        .collect();
    (trained, one)
}

/// Logits of every instance of `models` held in one network, PENNI layers in inference form
/// (the form `insitu compress` evaluates its stages in), for a batch of 8 images.
fn penni_inference(
    be: &mut dyn insitu::backend::Backend,
    models: &[insitu::nn::model::Model],
) -> Vec<Vec<f32>> {
    use insitu::backend::Activation;
    use insitu::net::Net;
    let refs: Vec<_> = models.iter().collect();
    let b = 8;
    let mut net = Net::with_instances(be, &refs, common::hyper(b, Activation::Relu)).unwrap();
    assert_eq!(net.instances, models.len());
    net.inference_form = true;
    net.training = false;
    let s = split();
    be.write(net.x, &s.test.images[..b * s.test.features()]);
    net.forward(be, b);
    let out = be.read(net.layers.last().unwrap().out);
    out.chunks(out.len() / models.len())
        .map(<[f32]>::to_vec)
        .collect()
}

/// Every trainable value of a model, in layer order.
fn values(m: &insitu::nn::model::Model) -> Vec<f32> {
    use insitu::nn::model::{ConvWeights, Layer};
    let mut v = Vec::new();
    for l in &m.layers {
        match l {
            Layer::Conv(c) => {
                match &c.weights {
                    ConvWeights::Dense(w) => v.extend(w),
                    ConvWeights::Penni(p) => v.extend(p.basis.iter().chain(&p.coef)),
                }
                v.extend(&c.bias);
            }
            Layer::Fc(f) => v.extend(f.weight.iter().chain(&f.bias)),
        }
    }
    v
}

/// A population of PENNI nets is one network; trained (kernel rebuilt from bases and
/// coefficients, gradient split) and in inference form (basis maps, coefficient mix) every
/// instance gives, bit for bit, what it gives alone.
#[test]
fn penni_population_equals_instances_alone() {
    let models = penni_models();
    let (together, one) = penni_trained(&mut CpuBackend::new(), &models);
    assert!(one, "a PENNI population is one network of every instance");
    for (i, m) in models.iter().enumerate() {
        let (alone, _) = penni_trained(&mut CpuBackend::new(), std::slice::from_ref(m));
        assert_eq!(together[i], alone[0], "trained instance {i}");
        assert_ne!(&together[i], m, "instance {i} trained");
    }
    let logits = penni_inference(&mut CpuBackend::new(), &together);
    for (i, m) in together.iter().enumerate() {
        let alone = penni_inference(&mut CpuBackend::new(), std::slice::from_ref(m));
        assert_eq!(logits[i], alone[0], "inference form, instance {i}");
    }
}

/// The same on the GPU: a PENNI population trains and infers as its instances alone.
#[test]
fn penni_population_equals_instances_alone_on_gpu() {
    let models = penni_models();
    let (together, one) = penni_trained(&mut common::gpu(), &models);
    assert!(one);
    for (i, m) in models.iter().enumerate() {
        let (alone, _) = penni_trained(&mut common::gpu(), std::slice::from_ref(m));
        let err = common::max_rel_err(&values(&together[i]), &values(&alone[0]));
        assert!(err < 1e-4, "trained instance {i}: {err}");
    }
    let logits = penni_inference(&mut common::gpu(), &together);
    for (i, m) in together.iter().enumerate() {
        let alone = penni_inference(&mut common::gpu(), std::slice::from_ref(m));
        let err = common::max_rel_err(&logits[i], &alone[0]);
        assert!(err < 1e-4, "inference form, instance {i}: {err}");
    }
}
