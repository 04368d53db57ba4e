//! Batch norm and residual blocks in conv networks: finite-difference gradients, GPU against
//! CPU, BN folding, MAC counts, the grammar's named networks.

use crate::common;

use common::{gpu, max_rel_err, random};
use insitu::backend::*;
use insitu::config::{ArrayConfig, Init};
use insitu::cpu::CpuBackend;
use insitu::net::{Hyper, Net, Param, Weights};
use insitu::nn::arch::{self, parse_shapes};
use insitu::nn::model::{Layer, Model};

const SMALL: &str = "C3b-R3-R4s2-G-FC5";

fn hyper(batch: usize) -> Hyper {
    Hyper {
        momentum: 0.9,
        lr: 0.1,
        ..common::hyper(batch, Activation::Tanh)
    }
}

/// A small residual model with non-trivial BN parameters and running statistics.
fn model(arch: &str, input: [usize; 3]) -> Model {
    let mut m = Model::init(arch, input, 5, Init::He, 3).unwrap();
    common::perturb_convs(&mut m, 100);
    m
}

fn setup(be: &mut dyn Backend, m: &Model, batch: usize) -> Net {
    let net = Net::new(be, m, hyper(batch)).unwrap();
    let features: usize = m.input.iter().product();
    be.write(net.x, &random(batch * features, 11, -1.0, 1.0));
    let labels: Vec<u32> = (0..batch as u32).map(|i| i % 5).collect();
    be.write_u32(net.y, &labels);
    net
}

fn named(p: &Param, name: String) -> (String, Buf, Buf) {
    (name, p.w, p.g)
}

/// Every trainable tensor: weights, biases, BN gamma/beta, projections.
fn params(net: &Net) -> Vec<(String, Buf, Buf)> {
    let mut v = Vec::new();
    for (l, lb) in net.layers.iter().enumerate() {
        if let Weights::Dense(p) = &lb.weights {
            v.push(named(p, format!("{l}.w")));
        }
        v.push(named(&lb.bias, format!("{l}.b")));
        if let Some(bn) = &lb.bn {
            v.push(named(&bn.gamma, format!("{l}.gamma")));
            v.push(named(&bn.beta, format!("{l}.beta")));
        }
        if let Some(p) = lb.skip.as_ref().and_then(|s| s.proj.as_ref()) {
            v.push(named(&p.w, format!("{l}.proj.w")));
            v.push(named(&p.bias, format!("{l}.proj.b")));
            let bn = p.bn.as_ref().unwrap();
            v.push(named(&bn.gamma, format!("{l}.proj.gamma")));
            v.push(named(&bn.beta, format!("{l}.proj.beta")));
        }
    }
    v
}

#[test]
fn residual_bn_gradients_match_finite_differences() {
    let (input, batch) = ([2, 6, 6], 4);
    let m = model(SMALL, input);
    let mut be = CpuBackend::new();
    let net = setup(&mut be, &m, batch);
    common::batch_loss(&mut be, &net, batch);
    net.backward(&mut be, batch);
    let eps = 1e-2f32;
    let mut checked = 0;
    for (name, w, g) in params(&net) {
        let grads = be.read(g);
        let base = be.read(w);
        for i in (0..base.len()).step_by((base.len() / 5).max(1)) {
            let mut v = base.clone();
            v[i] = base[i] + eps;
            be.write(w, &v);
            let up = common::batch_loss(&mut be, &net, batch);
            v[i] = base[i] - eps;
            be.write(w, &v);
            let down = common::batch_loss(&mut be, &net, batch);
            be.write(w, &base);
            let fd = (up - down) / (2.0 * eps as f64);
            let an = grads[i] as f64;
            assert!(
                (fd - an).abs() <= 2e-3 + 2e-2 * an.abs().max(fd.abs()),
                "{name}[{i}]: finite difference {fd}, backprop {an}"
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked}");
}

/// One forward, backward and update of the residual net on the GPU equals the CPU's.
#[test]
fn residual_bn_step_gpu_matches_cpu() {
    let (input, batch) = ([3, 9, 7], 5);
    let m = model("C5b-R5-R6s2-C4b-G-FC5", input);
    let mut results = Vec::new();
    let mut g = gpu();
    let mut c = CpuBackend::new();
    for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
        let mut net = setup(be, &m, batch);
        let l0 = common::batch_loss(be, &net, batch);
        net.backward(be, batch);
        net.update(be);
        net.training = false;
        let l1 = common::batch_loss(be, &net, batch);
        results.push((l0, l1, net.to_model(be)));
    }
    let (a, b) = (&results[0], &results[1]);
    assert!(
        (a.0 - b.0).abs() < 1e-4 && (a.1 - b.1).abs() < 1e-4,
        "{a:?} {b:?}"
    );
    let flat = |m: &Model| -> Vec<f32> {
        let mut v = Vec::new();
        for l in &m.layers {
            if let Layer::Conv(c) = l {
                v.extend(c.dense());
                let bn = c.bn.as_ref().unwrap();
                v.extend(
                    bn.gamma
                        .iter()
                        .chain(&bn.beta)
                        .chain(&bn.mean)
                        .chain(&bn.var),
                );
                if let Some(p) = c.shortcut.as_ref().and_then(|s| s.proj.as_ref()) {
                    v.extend(p.dense());
                    v.extend(&p.bn.as_ref().unwrap().var);
                }
            }
        }
        v
    };
    let e = max_rel_err(&flat(&a.2), &flat(&b.2));
    assert!(e < 1e-4, "GPU and CPU models differ by {e}");
}

/// Logits of the eval-mode forward pass.
fn eval_logits(be: &mut dyn Backend, m: &Model, batch: usize) -> Vec<f32> {
    let mut net = setup(be, m, batch);
    net.training = false;
    net.forward(be, batch);
    be.read(net.layers.last().unwrap().out)
}

#[test]
fn folding_bn_equals_eval_mode_inference() {
    let (input, batch) = ([2, 8, 8], 3);
    let m = model("C4b-R4-R6s2-C3k1b-M-FC5", input);
    let folded = m.folded();
    let mut be = CpuBackend::new();
    let a = eval_logits(&mut be, &m, batch);
    let b = eval_logits(&mut be, &folded, batch);
    let e = max_rel_err(&a, &b);
    assert!(e < 1e-5, "folded {e}");
    // The folding is not vacuous: training-mode (batch statistics) logits differ.
    let net = setup(&mut be, &m, batch);
    net.forward(&mut be, batch);
    let t = be.read(net.layers.last().unwrap().out);
    assert!(max_rel_err(&t, &a) > 1e-3);
    // Folded weights carry no BN (projections' included) and the same MACs.
    assert!(folded.layers.iter().all(|l| match l {
        Layer::Conv(c) => {
            c.bn.is_none()
                && c.shortcut
                    .as_ref()
                    .and_then(|s| s.proj.as_ref())
                    .is_none_or(|p| p.bn.is_none())
        }
        Layer::Fc(_) => true,
    }));
    assert_eq!(folded.total().macs, m.total().macs);
}

#[test]
fn residual_mac_counts_match_hand_computation() {
    // stem 8x8x(9*1)x4; R4: two 8x8x36x4; R8s2: 4x4x36x8, 4x4x72x8, projection 4x4x4x8;
    // FC 8x3. BN and the additions are not MACs.
    let want = 64 * 9 * 4 + 2 * 64 * 36 * 4 + 16 * 36 * 8 + 16 * 72 * 8 + 16 * 4 * 8 + 8 * 3;
    assert_eq!(want, 35_096);
    let arch = "C4b-R4-R8s2-G-FC3";
    let shapes = parse_shapes(arch, [1, 8, 8]).unwrap();
    assert_eq!(shapes.iter().map(|s| s.macs).sum::<usize>(), want);
    let names: Vec<&str> = shapes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv1",
            "conv2",
            "conv3",
            "conv4",
            "conv5.proj",
            "conv6",
            "fc7"
        ]
    );
    let m = Model::init(arch, [1, 8, 8], 3, Init::He, 1).unwrap();
    assert_eq!(m.layers.len(), 6);
    assert_eq!(m.total().macs, want);
    let chip: usize = m
        .chip_layers(&ArrayConfig::default())
        .iter()
        .map(|s| s.macs)
        .sum();
    assert_eq!(chip, want);
    assert_eq!(m.chip_layers(&ArrayConfig::default()).len(), 7);
    // ResNet-20 on CIFAR with projection shortcuts: 40.81 M MACs.
    let r20 = parse_shapes("resnet20", [3, 32, 32]).unwrap();
    assert_eq!(r20.iter().map(|s| s.macs).sum::<usize>(), 40_813_184);
    assert_eq!(r20.len(), 1 + 18 + 2 + 1);
    let m = Model::init("resnet20", [3, 32, 32], 10, Init::He, 1).unwrap();
    assert_eq!(m.total().macs, 40_813_184);
}

#[test]
fn named_networks_resolve() {
    let macs = |a: &str, i: [usize; 3]| -> usize {
        parse_shapes(a, i).unwrap().iter().map(|s| s.macs).sum()
    };
    assert_eq!(macs("vgg8", [3, 32, 32]), 615_917_568);
    assert_eq!(
        macs("VGG8", [3, 32, 32]),
        macs(
            "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10",
            [3, 32, 32]
        )
    );
    let v16 = parse_shapes("vgg16", [3, 32, 32]).unwrap();
    assert_eq!(v16.len(), 14);
    assert!(v16[..13].iter().all(|s| s.bn) && !v16[13].bn);
    // ResNet-18 (CIFAR form): 17 convs + 3 projections + FC. By hand: stem 1,769,472; stage 1
    // 4 x 37,748,736; stages 2-4 each 18,874,368 + 3 x 37,748,736 + 2,097,152; FC 5,120.
    let r18 = parse_shapes("resnet18", [3, 32, 32]).unwrap();
    assert_eq!(r18.len(), 21);
    assert_eq!(r18.iter().filter(|s| s.residual).count(), 8);
    assert_eq!(macs("resnet18", [3, 32, 32]), 555_422_720);
    assert_eq!(parse_shapes("cnn_mnist", [1, 28, 28]).unwrap().len(), 6);
    for m in arch::NAMED {
        Model::init(
            m.0,
            if m.0 == "cnn_mnist" {
                [1, 28, 28]
            } else {
                [3, 32, 32]
            },
            10,
            Init::He,
            1,
        )
        .unwrap()
        .validate()
        .unwrap();
    }
    for bad in [
        "resnet19",
        "R16-FC10",
        "C8-R8s0-FC10",
        "C8-R8x-FC10",
        "C8bb",
    ] {
        let e = parse_shapes(bad, [3, 8, 8]).unwrap_err().to_string();
        assert!(
            e.contains("network.arch") && e.contains("resnet20") && e.contains("cnn_mnist"),
            "{bad}: {e}"
        );
    }
}

/// Makes output channel `o` of a conv weightless with a zero BN output (beta = 0, gamma = 0).
fn kill(c: &mut insitu::nn::model::Conv, o: usize) {
    let insitu::nn::model::ConvWeights::Dense(w) = &mut c.weights else {
        unreachable!()
    };
    let per = w.len() / c.c_out;
    w[o * per..(o + 1) * per].iter_mut().for_each(|v| *v = 0.0);
    let bn = c.bn.as_mut().unwrap();
    bn.beta[o] = 0.0;
    bn.gamma[o] = 0.0;
}

fn conv(m: &mut Model, l: usize) -> &mut insitu::nn::model::Conv {
    match &mut m.layers[l] {
        Layer::Conv(c) => c,
        Layer::Fc(_) => unreachable!(),
    }
}

fn channels(m: &Model) -> Vec<(usize, usize)> {
    m.layers
        .iter()
        .map(|l| match l {
            Layer::Conv(c) => (c.c_in, c.c_out),
            Layer::Fc(f) => (f.fan_in, f.fan_out),
        })
        .collect()
}

#[test]
fn shrinking_a_residual_net_is_exact_and_respects_shortcuts() {
    use insitu::compress::penni;
    // 0 stem, 1-2 identity block (2 adds 0's output), 3-4 projection block (4 projects 2's).
    let (input, batch) = ([2, 8, 8], 3);
    let mut m = model("C4b-R4-R6s2-G-FC5", input);
    // Stem channel 1 is dead, but tied by the identity shortcut to layer 2's live channel 1.
    kill(conv(&mut m, 0), 1);
    // Layer 1 channel 2: dead and untied.
    kill(conv(&mut m, 1), 2);
    // Layer 3 channel 0: weightless but beta != 0, so it outputs a constant: kept.
    kill(conv(&mut m, 3), 0);
    conv(&mut m, 3).bn.as_mut().unwrap().beta[0] = 0.3;
    let mut be = CpuBackend::new();
    let before = eval_logits(&mut be, &m, batch);
    let mut a = m.clone();
    penni::shrink(&mut a);
    assert_eq!(
        channels(&a),
        [(2, 4), (4, 3), (3, 4), (4, 6), (6, 6), (6, 5)],
        "only layer 1's channel 2 goes"
    );
    let after = eval_logits(&mut be, &a, batch);
    assert!(max_rel_err(&after, &before) < 1e-5);
    // Kill layer 2's channel 1 too: the tied group (stem, layer 2) is dead on channel 1 and
    // it goes from both, from the readers of both (layers 1 and 3, the projection of 4).
    kill(conv(&mut m, 2), 1);
    let before = eval_logits(&mut be, &m, batch);
    let mut b = m.clone();
    penni::shrink(&mut b);
    assert_eq!(
        channels(&b),
        [(2, 3), (3, 3), (3, 3), (3, 6), (6, 6), (6, 5)]
    );
    let proj = conv(&mut b, 4)
        .shortcut
        .as_ref()
        .unwrap()
        .proj
        .as_ref()
        .unwrap();
    assert_eq!((proj.c_in, proj.c_out), (3, 6));
    b.validate().unwrap();
    let after = eval_logits(&mut be, &b, batch);
    assert!(max_rel_err(&after, &before) < 1e-5);
    // Training-mode outputs are unchanged too.
    let train = |be: &mut CpuBackend, m: &Model| {
        let net = setup(be, m, batch);
        net.forward(be, batch);
        be.read(net.layers.last().unwrap().out)
    };
    assert!(max_rel_err(&train(&mut be, &b), &train(&mut be, &m)) < 1e-4);
}
