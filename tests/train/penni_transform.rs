//! PENNI's transformations: exact decomposition, inference form, shrinking, MAC counts.

use crate::common;

use common::random;
use insitu::backend::*;
use insitu::compress::penni;
use insitu::config::{ArrayConfig, Init};
use insitu::cpu::CpuBackend;
use insitu::net::Net;
use insitu::nn::model::{ConvWeights, Layer, Model};

fn outputs(model: &Model, x: &[f32], batch: usize, inference: bool) -> Vec<f32> {
    let mut be = CpuBackend::new();
    let hyper = common::hyper(batch, Activation::Relu);
    let mut net = Net::new(&mut be, model, hyper).unwrap();
    net.inference_form = inference;
    be.write(net.x, x);
    net.forward(&mut be, batch);
    be.read(net.layers.last().unwrap().out)
}

fn conv_mut(m: &mut Model, l: usize) -> &mut insitu::nn::model::Conv {
    match &mut m.layers[l] {
        Layer::Conv(c) => c,
        Layer::Fc(_) => panic!("layer {l} is not a conv"),
    }
}

#[test]
fn full_rank_decomposition_reconstructs_exactly() {
    let model = Model::init("C6-C5k5p2-M-FC4", [3, 8, 8], 4, Init::He, 7).unwrap();
    let mut p = model.clone();
    penni::decompose(&mut p, 25);
    for (a, b) in model.layers.iter().zip(&p.layers) {
        if let (Layer::Conv(a), Layer::Conv(b)) = (a, b) {
            assert!(matches!(b.weights, ConvWeights::Penni(_)));
            let (wa, wb) = (a.dense(), b.dense());
            let err = wa
                .iter()
                .zip(&wb)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-5, "reconstruction error {err}");
        }
    }
    let x = random(2 * 3 * 64, 1, 0.0, 1.0);
    let (ya, yb) = (outputs(&model, &x, 2, false), outputs(&p, &x, 2, true));
    let err = ya
        .iter()
        .zip(&yb)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(err < 1e-4, "outputs differ by {err}");
}

#[test]
fn inference_form_equals_dense_reconstruction() {
    let mut p = Model::init("C6-M-C5k3s2p1-FC4", [2, 9, 7], 4, Init::He, 9).unwrap();
    penni::decompose(&mut p, 3);
    // Sparse coefficients, as after pruning.
    for l in [0, 1] {
        if let ConvWeights::Penni(q) = &mut conv_mut(&mut p, l).weights {
            for (i, v) in q.coef.iter_mut().enumerate() {
                if i % 3 == 1 {
                    *v = 0.0;
                }
            }
        }
    }
    let mut dense = p.clone();
    for l in [0, 1] {
        let c = conv_mut(&mut dense, l);
        c.weights = ConvWeights::Dense(c.dense());
    }
    let x = random(3 * 2 * 63, 2, 0.0, 1.0);
    let y_inf = outputs(&p, &x, 3, true);
    let y_dense = outputs(&dense, &x, 3, false);
    let y_train = outputs(&p, &x, 3, false);
    for (a, b) in [(&y_inf, &y_dense), (&y_train, &y_dense)] {
        let err = a
            .iter()
            .zip(b.iter())
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-4, "outputs differ by {err}");
    }
}

#[test]
fn shrink_removes_exactly_the_zero_channels_and_keeps_outputs() {
    let mut m = Model::init("C6-C5-M-C4-FC3", [1, 6, 6], 3, Init::He, 4).unwrap();
    penni::decompose(&mut m, 4);
    // Layer 0: output channel 2 dead (no coefficients, no bias).
    {
        let c = conv_mut(&mut m, 0);
        c.bias = vec![0.1; 6];
        c.bias[2] = 0.0;
        if let ConvWeights::Penni(q) = &mut c.weights {
            q.coef[2 * 4..3 * 4].fill(0.0);
        }
    }
    // Layer 1: nobody reads input channel 4; output channel 1 dead; basis 3 unused.
    {
        let c = conv_mut(&mut m, 1);
        c.bias = vec![0.05; 5];
        c.bias[1] = 0.0;
        if let ConvWeights::Penni(q) = &mut c.weights {
            for o in 0..5 {
                q.coef[o * 24 + 4 * 4..o * 24 + 5 * 4].fill(0.0);
                for i in 0..6 {
                    q.coef[o * 24 + i * 4 + 3] = 0.0;
                }
            }
            q.coef[24..48].fill(0.0);
        }
    }
    // Layer 2: input channel 3 unused, so layer 1's output 3 goes as well.
    {
        let c = conv_mut(&mut m, 2);
        if let ConvWeights::Penni(q) = &mut c.weights {
            for o in 0..4 {
                q.coef[o * 20 + 3 * 4..o * 20 + 4 * 4].fill(0.0);
            }
        }
    }
    let x = random(2 * 36, 3, 0.0, 1.0);
    let before = outputs(&m, &x, 2, true);
    let macs_before = m.total().macs;
    let rounds = penni::shrink(&mut m);
    assert!(rounds >= 2, "a fixed point needs a confirming round");
    m.validate().unwrap();
    let shape = |m: &Model, l: usize| match &m.layers[l] {
        Layer::Conv(c) => (
            c.c_in,
            c.c_out,
            match &c.weights {
                ConvWeights::Penni(p) => p.d,
                ConvWeights::Dense(_) => 0,
            },
        ),
        Layer::Fc(f) => (f.fan_in, f.fan_out, 0),
    };
    // Layer 0 loses output 2 (dead) and 4 (unread); layer 1 loses outputs 1 (dead) and 3
    // (unread) and basis 3; layer 2 keeps its outputs.
    assert_eq!(shape(&m, 0), (1, 4, 4));
    assert_eq!(shape(&m, 1), (4, 3, 3));
    assert_eq!(shape(&m, 2), (3, 4, 4));
    let after = outputs(&m, &x, 2, true);
    let err = before
        .iter()
        .zip(&after)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(err < 1e-5, "shrinking changed the outputs by {err}");
    assert!(m.total().macs < macs_before);
}

#[test]
fn mac_counts_match_hand_computation() {
    let mut m = Model::init("C4-M-C6k3s2p1-FC10", [2, 8, 8], 10, Init::He, 1).unwrap();
    // conv1: 8x8 outputs, 2 in, 4 out, 3x3: 8*8*2*4*9 = 4608. Pool -> 4x4.
    // conv2: stride 2 on 4x4 with pad 1: 2x2 outputs: 2*2*4*6*9 = 864. FC: 6*2*2*10 = 240.
    let c = m.counts();
    assert_eq!((c[0].macs, c[1].macs, c[2].macs), (4608, 864, 240));
    assert_eq!(m.total().params, 2 * 4 * 9 + 4 + 4 * 6 * 9 + 6 + 240 + 10);
    penni::decompose(&mut m, 2);
    if let ConvWeights::Penni(q) = &mut conv_mut(&mut m, 0).weights {
        // Keep 5 non-zero coefficients of 4*2*2 = 16.
        for (i, v) in q.coef.iter_mut().enumerate() {
            *v = if i < 5 { 1.0 } else { 0.0 };
        }
    }
    let c = m.counts();
    // Basis step H W C_in d k^2 = 64*2*2*9 = 2304, plus nnz(C) H W = 5 * 64 = 320.
    assert_eq!(c[0].macs, 2304 + 320);
    assert_eq!((c[0].coefficients, c[0].nonzero_coefficients), (16, 5));
    // conv2 dense coefficients: 2*2*4*2*9 + (6*4*2)*4 = 288 + 192.
    assert_eq!(c[1].macs, 288 + 192);
    // Chip layers: the coefficient matrix (d C_in = 4 rows) keeps its used rows (output 0
    // uses all 4) and used columns (outputs 0 and 1).
    // The basis step: both input channels' 9 x 2 blocks on one subarray's diagonal (8-bit
    // weights in 2-bit cells: 8 cell columns per channel), one read per output pixel.
    let shapes = m.chip_layers(&ArrayConfig::default());
    assert_eq!(shapes[0].name, "layer1.basis");
    assert_eq!(
        (shapes[0].fan_in, shapes[0].fan_out, shapes[0].positions),
        (18, 4, 64)
    );
    assert_eq!(shapes[0].macs, 64 * 2 * 9 * 2);
    // 128 x 128 subarrays, 5-bit cells and weights, d = 5: 14 channels by rows (14 x 9 = 126),
    // 25 by columns (127 data columns / 5).
    let five = ArrayConfig {
        weight_bits: 5,
        cell_bits: 5,
        ..ArrayConfig::default()
    };
    assert_eq!(
        insitu::chip::mapping::blocks_per_subarray(9, 5, 5, &five),
        14
    );
    assert_eq!(
        insitu::chip::mapping::blocks_per_subarray(9, 20, 5, &five),
        6
    );
    assert_eq!(
        insitu::chip::mapping::blocks_per_subarray(200, 5, 5, &five),
        1
    );
    assert_eq!((shapes[1].fan_in, shapes[1].fan_out), (4, 2));
}

#[test]
fn pruning_zeroes_small_coefficients_and_dead_biases() {
    let mut m = Model::init("C8-C8-FC3", [1, 5, 5], 3, Init::He, 2).unwrap();
    penni::decompose(&mut m, 5);
    if let Layer::Conv(c) = &mut m.layers[1] {
        c.bias = vec![0.5; 8];
        if let ConvWeights::Penni(q) = &mut c.weights {
            // Output channel 0 only has tiny coefficients.
            q.coef[..8 * 5].iter_mut().for_each(|v| *v *= 1e-3);
        }
    }
    let masks = penni::prune(&mut m, 1.0);
    let Layer::Conv(c) = &m.layers[1] else {
        unreachable!()
    };
    let ConvWeights::Penni(q) = &c.weights else {
        unreachable!()
    };
    assert!(q.coef[..40].iter().all(|v| *v == 0.0));
    assert_eq!(c.bias[0], 0.0);
    let (cm, bm) = masks[1].as_ref().unwrap();
    assert_eq!(bm[0], 0.0);
    assert_eq!(bm[1], 1.0);
    assert!(cm
        .iter()
        .zip(&q.coef)
        .all(|(m, v)| (*m != 0.0) == (*v != 0.0)));
}
