//! DFA's quantized feedback array in conv networks (`array.feedback_bits` > 0 with
//! `dfa_scope = "all"`): every conv and hidden FC layer has its block of the one stacked array.
//! With many bits on an ideal device the array's read approaches the float projection `B_l e`
//! within the weight code's resolution; the GPU follows the CPU reference.

use crate::common;

use insitu::backend::Backend;
use insitu::config::ExperimentConfig;
use insitu::cpu::CpuBackend;
use insitu::data::{Dataset, Split};
use insitu::net::dfa;
use insitu::net::Kind;
use insitu::nn::model::Model;
use insitu::train::trainer::{self, Trainer};

/// Odd channel counts, a stride-2 unpadded conv, a padded conv with pooling, two FC layers.
const AWKWARD: &str = "C5k3s2p0-C7-M-FC9-FC6";
const SHAPE: [usize; 3] = [3, 11, 11];
const CLASSES: usize = 6;

/// An ideal device and converters far finer than the feedback's weight code (of at most
/// `cell_bits`: with more, a weight spans cells and the high cell's ADC error is shifted up).
const IDEAL: &[&str] = &[
    "device.preset=\"ideal\"",
    "device.levels=4096",
    "device.max_pulses_per_update=4096",
    "device.rounding=\"nearest\"",
    "array.weight_bits=8",
    "array.cell_bits=8",
    "array.input_bits=16",
    "array.error_bits=16",
    "array.adc_bits=16",
    "array.adc_bits_backward=16",
    "array.adc_mode=\"full\"",
    "array.parallel_rows=4",
    "train.rule=\"dfa\"",
    "train.feedback=\"independent\"",
];

fn config(extra: &[&str]) -> ExperimentConfig {
    let mut sets = vec!["train.dfa_scope=\"all\""];
    sets.extend(extra);
    common::xbar_cnn_config(AWKWARD, &sets)
}

fn dataset(n: usize, stream: u32) -> Dataset {
    common::random_dataset(n, stream, SHAPE, CLASSES)
}

fn split(n: usize) -> Split {
    Split {
        train: dataset(n, 30),
        test: dataset(n, 40),
        name: "random".into(),
    }
}

fn model(seed: u64) -> Model {
    Model::init(AWKWARD, SHAPE, CLASSES, insitu::config::Init::He, seed).unwrap()
}

/// Per layer: the largest distance of its DFA error (after the ReLU derivative) from the float
/// `(B_l e) f'(a_l)`, and the weight code's bound on it: each of the `classes` products
/// `B_jk e_k` is off by at most half a code step, `max|B| / (2^bits - 1)` times `|e_k|`.
/// Also checks that every conv layer's error is its block of the array's read, permuted.
fn projection_errors(be: &mut dyn Backend, bits: u32) -> Vec<(f32, f32)> {
    let rows = 4;
    let fb = format!("array.feedback_bits={bits}");
    let mut sets = IDEAL.to_vec();
    sets.push(&fb);
    let cfg = config(&sets);
    let s = split(rows);
    let m = model(7);
    let mut t = Trainer::new(be, &m, trainer::hyper(&cfg, rows), &s, 11).unwrap();
    t.attach(&cfg, &s.train).unwrap();
    let net = &t.net;
    let be = &mut *t.be;
    be.write(net.x, &s.train.images);
    be.write_u32(net.y, &s.train.labels);
    net.forward(be, rows);
    net.loss(be, rows);
    let e = be.read(net.layers.last().unwrap().dout);
    net.backward(be, rows);
    let fa = net
        .dfa
        .as_ref()
        .unwrap()
        .array
        .as_ref()
        .expect("a feedback array");
    let signals = be.read(fa.signals);
    let stacked = dfa::stacked(be, net, 0);
    let bmax = stacked.iter().fold(0f32, |a, v| a.max(v.abs()));
    let step = bmax / ((1u32 << bits) - 1) as f32;
    let mut out = Vec::new();
    for l in 0..net.layers.len() - 1 {
        let off = fa.offsets[l].expect("every hidden layer has a block");
        let y = be.read(net.layers[l].out);
        let d = be.read(net.layers[l].dout);
        let (c_out, p) = match net.layers[l].kind {
            Kind::Conv { geom, .. } => (geom.c_out, geom.positions()),
            Kind::Fc { fan_out, .. } => (fan_out, 1),
        };
        let conv = matches!(net.layers[l].kind, Kind::Conv { .. });
        let (mut err, mut bound) = (0f32, 0f32);
        for r in 0..rows {
            let er = &e[r * CLASSES..(r + 1) * CLASSES];
            let e1: f32 = er.iter().map(|v| v.abs()).sum();
            bound = bound.max(e1 * step);
            for c in 0..c_out {
                for q in 0..p {
                    let j = off + c * p + q;
                    let b = &stacked[j * CLASSES..(j + 1) * CLASSES];
                    let proj: f32 = b.iter().zip(er).map(|(b, e)| b * e).sum();
                    let read = signals[r * fa.width + j];
                    // Conv errors are channel-major maps; an FC layer's is its block in place.
                    let (i, got) = if conv {
                        let i = c * rows * p + r * p + q;
                        (i, d[i])
                    } else {
                        (r * c_out + c, read)
                    };
                    let active = y[i] > 0.0;
                    if conv {
                        assert_eq!(got, if active { read } else { 0.0 }, "layer {l}");
                    }
                    let want = if active { proj } else { 0.0 };
                    err = err.max((got - want).abs());
                }
            }
        }
        out.push((err, bound));
    }
    out
}

fn projection_approaches_float(be: &mut dyn Backend, what: &str) {
    let mut last = Vec::new();
    // At most `cell_bits` (8): one cell per weight, so no slice shifts the ADC's error up.
    for bits in [4, 6, 8] {
        let errs = projection_errors(be, bits);
        assert_eq!(
            errs.len(),
            3,
            "{what}: two conv layers and a hidden FC layer"
        );
        for (l, &(err, bound)) in errs.iter().enumerate() {
            assert!(
                err <= bound,
                "{what} {bits} bits, layer {l}: max |read - B e| {err} above {bound}"
            );
            if let Some(&(prev, _)) = last.get(l) {
                assert!(err < prev, "{what} {bits} bits, layer {l}: {err} vs {prev}");
            }
        }
        last = errs;
    }
}

/// With many bits on an ideal device the feedback array's read of every layer's block is the
/// float projection `B_l e` within the weight code's resolution, and a conv layer's error is
/// its block permuted into the channel-major map times the ReLU derivative.
#[test]
fn conv_feedback_array_read_approaches_the_float_projection() {
    projection_approaches_float(&mut CpuBackend::new(), "cpu");
}

#[test]
fn conv_feedback_array_read_approaches_the_float_projection_on_gpu() {
    projection_approaches_float(&mut common::gpu(), "gpu");
}

/// One short epoch of in-situ conv DFA training with 4-bit feedback arrays (calibrated ADC
/// ranges, their feedback range calibrated on conv signals too) on the GPU follows the CPU
/// reference: a loss within 1%, few weights apart and equal crossbar activity.
#[test]
fn gpu_and_cpu_agree_on_conv_training_with_feedback_arrays() {
    let cfg = config(&[
        "train.rule=\"dfa\"",
        "array.feedback_bits=4",
        "train.batch_size=8",
        "train.epochs=1",
    ]);
    let runs = super::cnn_insitu::trained_on_both(&cfg, &split(24), &model(5), |t, _| {
        let fa = t.net.dfa.as_ref().unwrap().array.as_ref().unwrap();
        assert_eq!(fa.width, 5 * 25 + 7 * 25 + 9, "every hidden layer's block");
        let bar = indicatif::ProgressBar::hidden();
        let (loss, _) = t.train_epoch(0, &bar);
        (loss, t.model(), t.activity())
    });
    let (lc, mc, ac) = &runs[0];
    let (lg, mg, ag) = &runs[1];
    assert!(lc.is_finite() && *lc > 0.0, "loss {lc}");
    assert!((lc - lg).abs() < 1e-2 * lc, "loss cpu {lc} gpu {lg}");
    super::cnn_insitu::models_agree(mc, mg, "feedback arrays");
    for (a, b) in ac.iter().zip(ag) {
        assert_eq!(a.vectors_forward, b.vectors_forward);
        assert_eq!(a.updates, b.updates);
        assert!(a.write_pulses > 0 && a.vectors_transposed == 0);
    }
}

/// Quantized feedback is a different run from the ideal projection, and the feedback array's
/// ADC range is calibrated (a finite, nonzero range).
#[test]
fn quantized_conv_feedback_changes_the_run() {
    let s = split(16);
    let m = model(3);
    let mut losses = Vec::new();
    for bits in ["array.feedback_bits=0", "array.feedback_bits=3"] {
        let cfg = config(&["train.rule=\"dfa\"", bits, "train.batch_size=8"]);
        let mut be = CpuBackend::new();
        let mut t = Trainer::new(&mut be, &m, trainer::hyper(&cfg, 16), &s, 1).unwrap();
        t.attach(&cfg, &s.train).unwrap();
        if let Some(fa) = t.net.dfa.as_ref().unwrap().array.as_ref() {
            let cells = t.be.xbar_cells(fa.id).remove(0);
            let r = cells.adc_range(insitu::xbar::direction::Direction::Forward);
            let r = r.expect("the feedback array's ADC range is calibrated");
            assert!(r.hi.is_finite() && r.hi > 0.0, "{r:?}");
        }
        let bar = indicatif::ProgressBar::hidden();
        losses.push(t.train_epoch(0, &bar).0);
    }
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert_ne!(losses[0], losses[1]);
}
