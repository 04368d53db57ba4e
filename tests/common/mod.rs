//! Shared by the integration tests: one GPU device per test binary, random data, data-file
//! writers (`synth`) and crossbar settings (`xbar`). Each test binary includes it with
//! `#[path = "../common/mod.rs"] mod common;`.

#![allow(dead_code)]

pub mod synth;
pub mod xbar;

use std::sync::{Arc, OnceLock};

use insitu::gpu::{AdapterChoice, GpuBackend, GpuContext};
use insitu::rng::{key, philox4x32_10, uniform, Purpose};

/// A backend on the shared device. Panics (fails the test) when no adapter exists: GPU tests
/// never skip.
pub fn gpu() -> GpuBackend {
    static CTX: OnceLock<Arc<GpuContext>> = OnceLock::new();
    let ctx = CTX.get_or_init(|| match GpuContext::open(&AdapterChoice::default()) {
        Ok(c) => c,
        Err(e) => panic!("GPU tests need an adapter: {e}"),
    });
    GpuBackend::new(ctx.clone())
}

/// `n` uniform values in [lo, hi), reproducible per `stream`.
pub fn random(n: usize, stream: u32, lo: f32, hi: f32) -> Vec<f32> {
    let k = key(12345, Purpose::Sample, stream);
    (0..n)
        .map(|i| lo + (hi - lo) * uniform(philox4x32_10([i as u32, 0, 0, 0], k)[0]))
        .collect()
}

/// Largest |a - b| / (1 + |b|).
pub fn max_rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f32::max)
}

/// Conv-net settings with no optimiser motion (forward and gradient checks).
pub fn hyper(batch: usize, activation: insitu::backend::Activation) -> insitu::net::Hyper {
    insitu::net::Hyper {
        batch,
        activation,
        loss: insitu::backend::LossKind::CrossEntropy,
        momentum: 0.0,
        weight_decay: 0.0,
        nesterov: false,
        lr: 0.0,
    }
}

/// Gives every conv of `m` (projections included) random biases and, where it has batch norm,
/// random gamma, beta and running statistics; `seed` picks the streams.
pub fn perturb_convs(m: &mut insitu::nn::model::Model, seed: u32) {
    let mut s = seed;
    let mut perturb = |c: &mut insitu::nn::model::Conv| {
        let n = c.c_out;
        s += 5;
        c.bias = random(n, s, -0.1, 0.1);
        if let Some(bn) = &mut c.bn {
            bn.gamma = random(n, s + 1, 0.5, 1.5);
            bn.beta = random(n, s + 2, -0.3, 0.3);
            bn.mean = random(n, s + 3, -0.2, 0.2);
            bn.var = random(n, s + 4, 0.5, 2.0);
        }
    };
    for layer in &mut m.layers {
        if let insitu::nn::model::Layer::Conv(c) = layer {
            perturb(c);
            if let Some(p) = c.shortcut.as_mut().and_then(|sc| sc.proj.as_mut()) {
                perturb(p);
            }
        }
    }
}

/// `n` random images of `shape` in [0, 1) with random labels below `classes`.
pub fn random_dataset(
    n: usize,
    stream: u32,
    shape: [usize; 3],
    classes: usize,
) -> insitu::data::Dataset {
    let features: usize = shape.iter().product();
    let labels = random(n, stream + 1, 0.0, classes as f32)
        .iter()
        .map(|v| (*v as u32).min(classes as u32 - 1))
        .collect();
    insitu::data::Dataset {
        images: random(n * features, stream, 0.0, 1.0),
        labels,
        shape,
        classes,
    }
}

/// Mean loss of the batch already in `net.x` (forward pass and loss only).
pub fn batch_loss(
    be: &mut dyn insitu::backend::Backend,
    net: &insitu::net::Net,
    batch: usize,
) -> f64 {
    be.fill(
        net.acc,
        &insitu::backend::FillParams {
            off: 0,
            count: 4,
            value: 0.0,
            _pad: 0,
        },
    );
    net.forward(be, batch);
    net.loss(be, batch);
    let a = be.read(net.acc);
    a[0] as f64 / a[2] as f64
}

/// `configs/xbar_cnn_mnist.toml` with network `arch`, inputs in [0, 1] and the `extra`
/// overrides (`key=value`).
pub fn xbar_cnn_config(arch: &str, extra: &[&str]) -> insitu::config::ExperimentConfig {
    let mut sets: Vec<String> = vec![
        format!("network.arch=\"{arch}\""),
        "data.normalize=\"unit\"".into(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    insitu::config::parse(
        include_str!("../../configs/xbar_cnn_mnist.toml"),
        "test",
        &sets,
    )
    .expect("test config")
}
