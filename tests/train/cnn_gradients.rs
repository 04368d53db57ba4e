//! Conv network gradients against finite differences (CPU reference backend), and one whole
//! training step on the GPU against the CPU.

use crate::common;

use common::{gpu, max_rel_err, random};
use insitu::backend::*;
use insitu::compress::penni;
use insitu::config::Init;
use insitu::cpu::CpuBackend;
use insitu::net::{Hyper, Net, Weights};
use insitu::nn::model::Model;

fn hyper(batch: usize, act: Activation) -> Hyper {
    Hyper {
        batch,
        activation: act,
        loss: LossKind::CrossEntropy,
        momentum: 0.9,
        weight_decay: 0.0,
        nesterov: false,
        lr: 0.1,
    }
}

fn setup(be: &mut dyn Backend, model: &Model, batch: usize, act: Activation) -> Net {
    let net = Net::new(be, model, hyper(batch, act)).unwrap();
    let features: usize = model.input.iter().product();
    be.write(net.x, &random(batch * features, 11, -1.0, 1.0));
    let labels: Vec<u32> = (0..batch as u32)
        .map(|i| i % model.classes() as u32)
        .collect();
    be.write_u32(net.y, &labels);
    net
}

/// Every (values, gradient) buffer pair of the net, named.
fn params(net: &Net) -> Vec<(String, Buf, Buf)> {
    let mut v = Vec::new();
    for (l, lb) in net.layers.iter().enumerate() {
        match &lb.weights {
            Weights::Dense(p) => v.push((format!("{l}.w"), p.w, p.g)),
            Weights::Penni { basis, coef, .. } => {
                v.push((format!("{l}.basis"), basis.w, basis.g));
                v.push((format!("{l}.coef"), coef.w, coef.g));
            }
            Weights::Xbar { .. } | Weights::PenniXbar(_) => unreachable!("float nets only"),
        }
        v.push((format!("{l}.b"), lb.bias.w, lb.bias.g));
    }
    v
}

fn check_fd(arch: &str, input: [usize; 3], batch: usize, act: Activation, penni_d: Option<usize>) {
    let mut model = Model::init(arch, input, 5, Init::He, 3).unwrap();
    if let Some(d) = penni_d {
        penni::decompose(&mut model, d);
    }
    let mut be = CpuBackend::new();
    let net = setup(&mut be, &model, batch, act);
    // Non-zero biases so that ReLU boundaries move.
    for (l, lb) in net.layers.iter().enumerate() {
        let n = be.read(lb.bias.w).len();
        be.write(lb.bias.w, &random(n, 20 + l as u32, -0.1, 0.1));
    }
    common::batch_loss(&mut be, &net, batch);
    net.backward(&mut be, batch);
    let eps = 1e-2f32;
    for (name, w, g) in params(&net) {
        let grads = be.read(g);
        let base = be.read(w);
        let picks: Vec<usize> = (0..base.len()).step_by((base.len() / 6).max(1)).collect();
        for i in picks {
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
                "{arch} {name}[{i}]: finite difference {fd}, backprop {an}"
            );
        }
    }
}

#[test]
fn conv_gradients_match_finite_differences() {
    // Smooth activation so finite differences are meaningful; max pool ties are improbable.
    check_fd("C3-M-C4k2s1p0-FC5", [2, 7, 6], 3, Activation::Tanh, None);
    check_fd(
        "C3k3s2p1-A-C2k3s1p2-G-FC5",
        [1, 9, 8],
        2,
        Activation::Tanh,
        None,
    );
    check_fd("C4k5s1p2-FC6-FC5", [3, 5, 4], 2, Activation::Sigmoid, None);
}

#[test]
fn penni_gradients_match_finite_differences() {
    check_fd("C3-M-C4-FC5", [2, 6, 6], 2, Activation::Tanh, Some(3));
}

#[test]
fn relu_network_gradients_match_finite_differences() {
    check_fd("C4-M-C3k3s2p1-FC5", [1, 8, 8], 2, Activation::Relu, None);
}

#[test]
fn gpu_training_step_matches_cpu() {
    let mut model = Model::init("C3k3s2p1-M-C5-A-FC7-FC5", [2, 11, 9], 5, Init::He, 5).unwrap();
    penni::decompose(&mut model, 4);
    let batch = 3;
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut results = Vec::new();
    for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
        let mut net = setup(be, &model, batch, Activation::Relu);
        for lb in &mut net.layers {
            if let Weights::Penni { coef, .. } = &mut lb.weights {
                coef.l1 = 1e-3;
            }
        }
        for inference in [false, true] {
            net.inference_form = inference;
            results.push(common::batch_loss(be, &net, batch) as f32);
        }
        net.inference_form = false;
        common::batch_loss(be, &net, batch);
        net.backward(be, batch);
        let grads: Vec<Vec<f32>> = params(&net).iter().map(|(_, _, g)| be.read(*g)).collect();
        net.update(be);
        let after = net.to_model(be);
        results.extend(grads.into_iter().flatten());
        results.extend(after.layers.iter().flat_map(|l| match l {
            insitu::nn::model::Layer::Conv(v) => v.dense(),
            insitu::nn::model::Layer::Fc(f) => f.weight.clone(),
        }));
    }
    let n = results.len() / 2;
    assert!(max_rel_err(&results[..n], &results[n..]) < 1e-4);
    assert!(
        (results[0] - results[1]).abs() < 1e-5,
        "inference form changes the loss"
    );
}
