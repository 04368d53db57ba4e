//! Conv networks on crossbars (in-situ BP and DFA) and DFA for conv networks: ideal limits,
//! GPU against the CPU reference, the feedback projection, learning, config errors.

use crate::common;

use insitu::backend::Backend;
use insitu::config::{parse, DfaScope, ExperimentConfig, Feedback};
use insitu::cpu::CpuBackend;
use insitu::data::{Dataset, Split};
use insitu::experiment::{run_on, RunOptions};
use insitu::net::dfa;
use insitu::net::{Kind, Net, Weights};
use insitu::nn::arch::PoolKind;
use insitu::nn::model::Model;
use insitu::train::trainer::{self, Trainer};

/// Odd channel counts, a stride-2 unpadded conv, a padded conv with pooling, two FC layers.
const AWKWARD: &str = "C5k3s2p0-C7-M-FC9-FC6";
const SHAPE: [usize; 3] = [3, 11, 11];

const IDEAL: &[&str] = &[
    "device.preset=\"ideal\"",
    "device.levels=4096",
    "device.max_pulses_per_update=4096",
    "device.rounding=\"nearest\"",
    "array.weight_bits=8",
    "array.cell_bits=8",
    "array.input_bits=14",
    "array.error_bits=14",
    "array.adc_bits=16",
    "array.adc_bits_backward=16",
    "array.adc_mode=\"full\"",
    "array.parallel_rows=4",
];

fn config(extra: &[&str]) -> ExperimentConfig {
    common::xbar_cnn_config(AWKWARD, extra)
}

fn dataset(n: usize, stream: u32) -> Dataset {
    common::random_dataset(n, stream, SHAPE, 6)
}

fn split(n: usize) -> Split {
    Split {
        train: dataset(n, 10),
        test: dataset(n, 20),
        name: "random".into(),
    }
}

fn model(seed: u64) -> Model {
    Model::init(AWKWARD, SHAPE, 6, insitu::config::Init::He, seed).unwrap()
}

/// The last layer's outputs after a forward pass of `x`.
fn forward(be: &mut dyn Backend, net: &Net, x: &[f32], rows: usize) -> Vec<f32> {
    be.write(net.x, x);
    net.forward(be, rows);
    let out = be.read(net.layers.last().unwrap().out);
    out[..rows * 6].to_vec()
}

/// Ideal device and fine converters: the crossbar forward is the float forward of the
/// weights stored on the arrays.
#[test]
fn ideal_crossbar_conv_forward_equals_float() {
    let cfg = config(IDEAL);
    let s = split(8);
    let m = model(3);
    let mut be = CpuBackend::new();
    let h = trainer::hyper(&cfg, 8);
    let mut xnet = Net::new(&mut be, &m, h).unwrap();
    insitu::net::attach::for_training(
        &mut be,
        &mut xnet,
        std::slice::from_ref(&m),
        &cfg,
        &s.train,
        &[1],
    )
    .unwrap();
    let y = forward(&mut be, &xnet, &s.train.images, 8);
    let stored = xnet.to_model(&mut be);
    let fnet = Net::new(&mut be, &stored, h).unwrap();
    let yf = forward(&mut be, &fnet, &s.train.images, 8);
    let scale = yf.iter().fold(0f32, |a, v| a.max(v.abs()));
    let err = y
        .iter()
        .zip(&yf)
        .fold(0f32, |a, (p, q)| a.max((p - q).abs()));
    assert!(
        err < 2e-3 * scale,
        "max |xbar - float| {err}, outputs up to {scale}"
    );
    // The stored weights are the model's up to the 8-bit weight code.
    let (a, b) = (stored.layers[1].clone(), m.layers[1].clone());
    let (insitu::nn::model::Layer::Conv(a), insitu::nn::model::Layer::Conv(b)) = (a, b) else {
        panic!("layer 2 is a conv")
    };
    let (insitu::nn::model::ConvWeights::Dense(wa), insitu::nn::model::ConvWeights::Dense(wb)) =
        (a.weights, b.weights)
    else {
        panic!("dense")
    };
    let lim = wb.iter().fold(0f32, |a, v| a.max(v.abs()));
    assert!(common::max_rel_err(&wa, &wb) < 2.0 * 2.0 * lim / 255.0);
}

/// `f` on an in-situ trainer of the awkward conv net under `rule` (batch 8, 24 images), on the
/// CPU reference and then on the GPU.
fn on_both<T>(rule: &str, f: impl Fn(&mut Trainer, &Split) -> T) -> Vec<T> {
    let r = format!("train.rule=\"{rule}\"");
    let cfg = config(&[&r, "train.batch_size=8", "train.epochs=1"]);
    trained_on_both(&cfg, &split(24), &model(5), f)
}

/// `f` on an in-situ trainer of `m` under `cfg` on `s`, on the CPU reference and then on the
/// GPU.
pub(crate) fn trained_on_both<T>(
    cfg: &ExperimentConfig,
    s: &Split,
    m: &Model,
    f: impl Fn(&mut Trainer, &Split) -> T,
) -> Vec<T> {
    let mut runs = Vec::new();
    for gpu in [false, true] {
        let mut g;
        let mut c;
        let be: &mut dyn Backend = if gpu {
            g = common::gpu();
            &mut g
        } else {
            c = CpuBackend::new();
            &mut c
        };
        let mut t = Trainer::new(be, m, trainer::hyper(cfg, s.train.len()), s, 1).unwrap();
        t.attach(cfg, &s.train).unwrap();
        runs.push(f(&mut t, s));
    }
    runs
}

/// Every buffer of three in-situ training steps on the GPU follows the CPU reference: layer
/// outputs and errors, digital gradients and momenta, programmed conductances. Once cells hold
/// programmed (non-integer) conductances the two backends sum a partial sum in different orders,
/// so a sum right at an ADC code boundary may take the next code: a few elements may differ.
#[test]
fn gpu_and_cpu_agree_step_by_step_on_in_situ_conv_training() {
    for rule in ["bp", "dfa"] {
        let runs = on_both(rule, |t, s| {
            let mut bufs: Vec<(String, Vec<f32>)> = Vec::new();
            t.be.write(t.net.x, &s.train.images[..8 * s.train.features()]);
            t.be.write_u32(t.net.y, &s.train.labels[..8]);
            for step in 0..3 {
                t.net.forward(t.be, 8);
                t.net.loss(t.be, 8);
                t.net.backward(t.be, 8);
                t.net.update(t.be);
                for (l, lb) in t.net.layers.iter().enumerate() {
                    let Weights::Xbar { grad, .. } = &lb.weights else {
                        panic!("layer {l} is on a crossbar");
                    };
                    bufs.push((format!("step {step} layer {l} out"), t.be.read(lb.out)));
                    bufs.push((format!("step {step} layer {l} dout"), t.be.read(lb.dout)));
                    bufs.push((format!("step {step} layer {l} gradient"), t.be.read(grad.g)));
                    bufs.push((format!("step {step} layer {l} momentum"), t.be.read(grad.v)));
                }
                t.net.program(t.be);
                t.be.flush();
                for (l, lb) in t.net.layers.iter().enumerate() {
                    if let Weights::Xbar { id, .. } = &lb.weights {
                        let cells = t.be.xbar_cells(*id).remove(0).cells;
                        bufs.push((format!("step {step} layer {l} cells"), cells));
                    }
                }
            }
            bufs
        });
        let mut compared = 0;
        for ((what, a), (_, b)) in runs[0].iter().zip(&runs[1]) {
            // f32 sums in another order: 1e-4 of the buffer's largest value apart at most.
            let lim = a.iter().fold(0f32, |x, v| x.max(v.abs()));
            let off = a
                .iter()
                .zip(b)
                .filter(|(p, q)| (*p - *q).abs() > 1e-4 * lim)
                .count();
            assert!(
                off * 100 <= a.len(),
                "{rule} {what}: {off} of {} differ",
                a.len()
            );
            compared += a.len();
        }
        assert!(compared > 10_000, "{compared} values compared");
    }
}

/// One short epoch of in-situ training on the GPU follows the CPU reference. Over an epoch the
/// rare one-code differences above feed back into training, so this checks the epoch as a
/// whole: equal activity, a loss within 1% and few weights apart.
#[test]
fn gpu_and_cpu_agree_on_in_situ_conv_training() {
    for rule in ["bp", "dfa"] {
        let runs = on_both(rule, |t, _| {
            let bar = indicatif::ProgressBar::hidden();
            let (loss, _) = t.train_epoch(0, &bar);
            let act = t.activity();
            (loss, t.model(), act)
        });
        let (lc, mc, ac) = &runs[0];
        let (lg, mg, ag) = &runs[1];
        assert!(
            (lc - lg).abs() < 1e-2 * lc.abs(),
            "{rule}: loss cpu {lc} gpu {lg}"
        );
        models_agree(mc, mg, rule);
        for (a, b) in ac.iter().zip(ag) {
            assert_eq!(a.vectors_forward, b.vectors_forward);
            assert_eq!(a.vectors_transposed, b.vectors_transposed);
            assert_eq!(a.updates, b.updates);
        }
        if rule == "bp" {
            assert!(ac[1].vectors_transposed > 0 && ac[0].vectors_transposed == 0);
        } else {
            assert!(ac.iter().all(|a| a.vectors_transposed == 0));
        }
    }
}

/// The GPU's trained weights follow the CPU's: at most a tenth of each layer's weights differ by
/// more than 1e-3 of its largest (a stochastic rounding right at a threshold may go either way).
pub(crate) fn models_agree(cpu: &Model, gpu: &Model, what: &str) {
    for (l, (a, b)) in cpu.layers.iter().zip(&gpu.layers).enumerate() {
        let (wa, wb) = (weights(a), weights(b));
        let lim = wa.iter().fold(0f32, |x, v| x.max(v.abs()));
        let off = wa
            .iter()
            .zip(&wb)
            .filter(|(p, q)| (*p - *q).abs() > 1e-3 * lim)
            .count();
        assert!(
            off * 10 <= wa.len(),
            "{what} layer {l}: {off} of {} differ",
            wa.len()
        );
    }
}

fn weights(l: &insitu::nn::model::Layer) -> Vec<f32> {
    match l {
        insitu::nn::model::Layer::Conv(c) => match &c.weights {
            insitu::nn::model::ConvWeights::Dense(w) => w.clone(),
            _ => panic!("dense"),
        },
        insitu::nn::model::Layer::Fc(f) => f.weight.clone(),
    }
}

/// DFA's error of a conv layer is its feedback matrix times the output error, laid out as
/// the channel-major map, times the ReLU derivative; under `fc_head` the conv layers get BP's.
#[test]
fn conv_dfa_projection_matches_host() {
    let s = split(4);
    let m = model(7);
    let cfg = config(&["train.rule=\"dfa\""]);
    let h = trainer::hyper(&cfg, 4);
    let mut be = CpuBackend::new();
    let mut net = Net::new(&mut be, &m, h).unwrap();
    dfa::attach(&mut be, &mut net, DfaScope::All, Feedback::Sign, &[9]);
    be.write(net.x, &s.train.images);
    be.write_u32(net.y, &s.train.labels);
    net.forward(&mut be, 4);
    net.loss(&mut be, 4);
    let e = be.read(net.layers.last().unwrap().dout);
    net.backward(&mut be, 4);
    let sizes = dfa::signal_sizes(&net, DfaScope::All);
    assert_eq!(sizes, vec![Some(5 * 25), Some(7 * 25), Some(9), None]);
    let mats = dfa::matrices(&sizes, Feedback::Sign, 6, 9);
    for (l, b) in [(0, &mats[0]), (1, &mats[1])] {
        let Kind::Conv { geom, .. } = net.layers[l].kind else {
            panic!("conv")
        };
        let (c_out, p) = (geom.c_out, geom.positions());
        let out = be.read(net.layers[l].out);
        let got = be.read(net.layers[l].dout);
        for c in 0..c_out {
            for r in 0..4 {
                for q in 0..p {
                    let proj: f32 = (0..6).map(|k| b[(c * p + q) * 6 + k] * e[r * 6 + k]).sum();
                    let i = c * 4 * p + r * p + q;
                    let want = if out[i] > 0.0 { proj } else { 0.0 };
                    assert!(
                        (got[i] - want).abs() < 1e-5 * (1.0 + want.abs()),
                        "layer {l} ({c}, {r}, {q}): {} vs {want}",
                        got[i]
                    );
                }
            }
        }
    }
    // FC head only with no hidden FC layer: the conv stack's BP inside the DFA pass gives
    // BP's errors and gradients.
    let m = Model::init("C5k3s2p0-C7-M-FC6", SHAPE, 6, insitu::config::Init::He, 7).unwrap();
    let mut head = Net::new(&mut be, &m, h).unwrap();
    dfa::attach(&mut be, &mut head, DfaScope::FcHead, Feedback::Sign, &[9]);
    assert_eq!(dfa::signal_sizes(&head, DfaScope::FcHead), vec![None; 3]);
    let bp = Net::new(&mut be, &m, h).unwrap();
    for n in [&head, &bp] {
        be.write(n.x, &s.train.images);
        be.write_u32(n.y, &s.train.labels);
        n.forward(&mut be, 4);
        n.loss(&mut be, 4);
    }
    head.backward(&mut be, 4);
    bp.backward(&mut be, 4);
    for l in 0..3 {
        for (a, b) in [
            (head.layers[l].dout, bp.layers[l].dout),
            (head.layers[l].bias.g, bp.layers[l].bias.g),
        ] {
            let (a, b) = (be.read(a), be.read(b));
            assert!(a.iter().any(|v| *v != 0.0), "layer {l} has an error");
            assert!(common::max_rel_err(&a, &b) < 1e-6, "layer {l}");
        }
    }
    assert!(matches!(net.layers[1].pool, Some(PoolKind::Max)));
}

/// A small conv net on FeFET-like crossbars learns MNIST above chance in one short epoch,
/// with BP and with DFA; the report carries the measured activity and the chip cost.
#[test]
fn in_situ_conv_net_learns_mnist_subset() {
    for (rule, floor) in [("bp", 0.4), ("dfa", 0.2)] {
        let r = format!("train.rule=\"{rule}\"");
        let cfg = parse(
            include_str!("../../configs/xbar_cnn_mnist.toml"),
            "configs/xbar_cnn_mnist.toml",
            &[
                r,
                "network.arch=\"C4-M-C8-M-FC10\"".into(),
                "data.train_limit=400".into(),
                "data.test_limit=200".into(),
                "train.epochs=1".into(),
            ],
        )
        .unwrap();
        let split = insitu::data::load(&cfg.data).unwrap();
        let rep = run_on(&mut CpuBackend::new(), &cfg, &split, &RunOptions::default()).unwrap();
        let acc = rep.final_.as_ref().unwrap().test_accuracy;
        assert!(acc > floor, "{rule}: test accuracy {acc}");
        assert_eq!(rep.activity.len(), 3);
        assert!(rep
            .activity
            .iter()
            .all(|a| a.write_pulses > 0 && a.updates > 0));
        let rep = insitu::chip::run_cost::run_cost(rep);
        assert!(rep.cost.is_some(), "chip cost");
    }
}

#[test]
fn config_errors_name_the_field() {
    let e = parse(
        include_str!("../../configs/xbar_cnn_mnist.toml"),
        "exp.toml",
        &["train.dfa_scope=\"conv\"".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("dfa_scope") && e.contains("conv") && e.contains("all") && e.contains("fc_head"),
        "{e}"
    );
}

#[test]
fn save_keeps_the_programmed_conductances() {
    let dir = std::env::temp_dir().join(format!("insitu_cells_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chip.safetensors");
    let cfg = config(&["train.epochs=1", "train.batch_size=8"]);
    let mut be = CpuBackend::new();
    let opts = RunOptions {
        save: Some(path.clone()),
        ..RunOptions::default()
    };
    let (_, trained) = trainer::train(&mut be, &cfg, &split(24), &opts, None).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let loaded = insitu::model_io::from_bytes(&bytes).unwrap();
    assert_eq!(
        loaded, trained,
        "the saved model is the decoded crossbar weights"
    );
    let cells = insitu::model_io::cells::from_bytes(&bytes).unwrap();
    assert_eq!(
        cells.len(),
        trained.layers.len(),
        "every weight layer is on a crossbar"
    );
    for (l, c) in &cells {
        // The stored conductances decode to the saved weights, and were programmed (moved
        // away from the levels the initial weights map to).
        assert_eq!(*l as u32, c.layer);
        assert!(
            c.adc_range_fwd.is_some(),
            "layer {l}: calibrated range kept"
        );
        let w = c.decode_weights();
        assert_eq!(w, weights(&loaded.layers[*l]), "layer {l}");
    }
    let float = insitu::model_io::to_bytes(&trained);
    assert!(insitu::model_io::cells::from_bytes(&float)
        .unwrap()
        .is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
