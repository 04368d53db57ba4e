//! PENNI layers in inference form on crossbars: the ideal limit against the float inference
//! form, dropped coefficient rows and columns, read counts, GPU against the CPU reference.

use crate::common;

use insitu::backend::Backend;
use insitu::compress::penni;
use insitu::config::{ExperimentConfig, Init};
use insitu::cpu::CpuBackend;
use insitu::data::{Dataset, Split};
use insitu::net::{attach, Net};
use insitu::nn::model::{ConvWeights, Layer, Model};
use insitu::train::trainer::{self};
use insitu::train::xbar_eval;

/// Odd channel counts, a stride-2 unpadded conv, a padded conv with pooling, two FC layers.
const ARCH: &str = "C5k3s2p0-C7-M-FC9-FC6";
const SHAPE: [usize; 3] = [3, 11, 11];
const D: usize = 4;

const IDEAL: &[&str] = &[
    "device.preset=\"ideal\"",
    "array.weight_bits=8",
    "array.cell_bits=8",
    "array.input_bits=14",
    "array.adc_bits=16",
    "array.adc_mode=\"full\"",
    "array.parallel_rows=4",
];

fn config(extra: &[&str]) -> ExperimentConfig {
    let mut sets = vec!["train.batch_size=5"];
    sets.extend_from_slice(extra);
    common::xbar_cnn_config(ARCH, &sets)
}

fn dataset(n: usize, stream: u32) -> Dataset {
    common::random_dataset(n, stream, SHAPE, 6)
}

/// Both convs in PENNI form with random sparse coefficients; in each, output 1 and input
/// column `j = 0 d + 2` are all zero.
fn model() -> Model {
    let mut m = Model::init(ARCH, SHAPE, 6, Init::He, 3).unwrap();
    penni::decompose(&mut m, D);
    for (l, layer) in m.layers.iter_mut().enumerate() {
        let Layer::Conv(c) = layer else { continue };
        let ConvWeights::Penni(p) = &mut c.weights else {
            panic!("decomposed")
        };
        let j = c.c_in * D;
        let r = common::random(c.c_out * j, 40 + l as u32, -1.0, 1.0);
        for (o, row) in p.coef.chunks_mut(j).enumerate() {
            for (i, v) in row.iter_mut().enumerate() {
                let x = r[o * j + i];
                *v = if o == 1 || i == 2 || x.abs() < 0.4 {
                    0.0
                } else {
                    x
                };
            }
        }
        c.bias = common::random(c.c_out, 60 + l as u32, -0.1, 0.1);
    }
    m
}

fn penni_of(m: &Model, l: usize) -> (&insitu::nn::model::Conv, &insitu::nn::model::Penni) {
    let Layer::Conv(c) = &m.layers[l] else {
        panic!("conv")
    };
    let ConvWeights::Penni(p) = &c.weights else {
        panic!("PENNI")
    };
    (c, p)
}

/// (last layer's outputs, first conv's output) after a forward pass of `x`.
fn forward(be: &mut dyn Backend, net: &Net, x: &[f32], rows: usize) -> (Vec<f32>, Vec<f32>) {
    be.write(net.x, x);
    net.forward(be, rows);
    let out = be.read(net.layers.last().unwrap().out);
    (out[..rows * 6].to_vec(), be.read(net.layers[0].out))
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0f32, |a, x| a.max(x.abs()))
}

/// Ideal device, fine converters: the crossbar forward is the float inference form of the
/// weights stored on the arrays, those are the model's up to the 8-bit code, and dropped
/// entries stay exactly zero.
#[test]
fn ideal_penni_crossbar_forward_equals_float_inference() {
    let cfg = config(IDEAL);
    let m = model();
    let s = dataset(5, 10);
    let mut be = CpuBackend::new();
    let h = trainer::hyper(&cfg, 5);
    let mut xnet = Net::new(&mut be, &m, h).unwrap();
    xnet.training = false;
    attach::for_inference(&mut be, &mut xnet, &m, &cfg, &s, 1).unwrap();
    let (y, first) = forward(&mut be, &xnet, &s.images, 5);
    let stored = xnet.to_model(&mut be);
    let mut fnet = Net::new(&mut be, &stored, h).unwrap();
    fnet.inference_form = true;
    fnet.training = false;
    let (yf, _) = forward(&mut be, &fnet, &s.images, 5);
    let err = y
        .iter()
        .zip(&yf)
        .fold(0f32, |a, (p, q)| a.max((p - q).abs()));
    assert!(
        err < 2e-3 * max_abs(&yf),
        "max |xbar - float| {err}, outputs up to {}",
        max_abs(&yf)
    );
    for l in [0, 1] {
        let ((c, a), (_, b)) = (penni_of(&stored, l), penni_of(&m, l));
        let j = c.c_in * D;
        // A zero inside a used row and column is only a code (offset mapping has no exact 0);
        // the dropped row and column are not on the array at all.
        assert!(a.coef[j..2 * j].iter().all(|v| *v == 0.0));
        assert!(a.coef.chunks(j).all(|row| row[2] == 0.0));
        let lim = max_abs(&b.coef);
        assert!(common::max_rel_err(&a.coef, &b.coef) < 2.0 * lim / 255.0);
        let lim = max_abs(&b.basis);
        assert!(common::max_rel_err(&a.basis, &b.basis) < 2.0 * lim / 255.0);
    }
    // Output channel 1 of the first conv reads nothing: ReLU of its bias, exactly.
    let (c, _) = penni_of(&m, 0);
    let n = first.len() / c.c_out;
    let b1 = c.bias[1].max(0.0);
    assert!(first[n..2 * n].iter().all(|v| *v == b1));
}

/// The entry point: ideal crossbars give the float accuracy, and every image reads each array
/// a closed-form number of times.
#[test]
fn ideal_crossbar_accuracy_and_read_counts() {
    let cfg = config(IDEAL);
    let m = model();
    let split = Split {
        train: dataset(12, 10),
        test: dataset(12, 20),
        name: "random".into(),
    };
    let mut be = CpuBackend::new();
    let r = xbar_eval::evaluate(&mut be, &cfg, &m, &split).unwrap();
    let (float, _) = insitu::compress::pipeline::evaluate(&mut be, &cfg, &m, &split).unwrap();
    assert!(
        (r.accuracy - float).abs() <= 1.0 / 12.0 + 1e-9,
        "crossbar {} float {float}",
        r.accuracy
    );
    // conv 1: 3 channels, 5x5 positions; conv 2: 5 channels, 5x5; FC layers once per image.
    let (p1, p2) = (25u64, 25u64);
    let expect = [12 * p1 * 3, 12 * p1, 12 * p2 * 5, 12 * p2, 12, 12];
    let got: Vec<u64> = r.activity.iter().map(|a| a.vectors_forward).collect();
    assert_eq!(got, expect);
    assert_eq!(r.reads, expect.iter().sum::<u64>());
    assert!(r.adc_conversions > 0);
}

/// The GPU reads a PENNI network on non-ideal crossbars (calibrated ADC ranges) as the CPU
/// reference does.
#[test]
fn gpu_penni_crossbar_matches_cpu() {
    let cfg = config(&[]);
    let m = model();
    let s = dataset(5, 10);
    let h = trainer::hyper(&cfg, 5);
    let mut outs = Vec::new();
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
        let mut net = Net::new(be, &m, h).unwrap();
        net.training = false;
        attach::for_inference(be, &mut net, &m, &cfg, &s, 1).unwrap();
        let (y, _) = forward(be, &net, &s.images, 5);
        outs.push((y, net.activity(be)));
    }
    let ((yc, ac), (yg, ag)) = (&outs[0], &outs[1]);
    let err = common::max_rel_err(yg, yc);
    assert!(err < 1e-3 * (1.0 + max_abs(yc)), "gpu vs cpu {err}");
    for (a, b) in ac.iter().zip(ag) {
        assert_eq!(a.vectors_forward, b.vectors_forward);
        assert_eq!(a.forward.adc_conversions, b.forward.adc_conversions);
    }
}
