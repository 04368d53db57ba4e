//! SGD with classical and Nesterov momentum against closed forms, GPU against CPU, and the
//! learning-rate step schedule.

use crate::common;

use common::{gpu, max_rel_err, random};
use insitu::backend::{Backend, SgdParams};
use insitu::config::OptimizerConfig;
use insitu::cpu::CpuBackend;

fn sgd_params(n: u32, p: u32, momentum: f32, wd: f32, nesterov: bool) -> SgdParams {
    SgdParams {
        n,
        count: n * p,
        off: 0,
        nesterov: nesterov as u32,
        momentum,
        weight_decay: wd,
        _pad1: [0.0; 2],
    }
}

/// `steps` SGD steps with a fixed gradient; the weights after them.
fn steps(
    be: &mut dyn Backend,
    w: &[f32],
    g: &[f32],
    lr: &[f32],
    sp: &SgdParams,
    steps: usize,
) -> Vec<f32> {
    let (bw, bv, bg, bl) = (
        be.alloc(w.len()),
        be.alloc(w.len()),
        be.alloc(w.len()),
        be.alloc(lr.len()),
    );
    be.write(bw, w);
    be.write(bg, g);
    be.write(bl, lr);
    for _ in 0..steps {
        be.sgd(bw, bv, bg, bl, sp);
    }
    be.read(bw)
}

#[test]
fn constant_gradient_matches_closed_form() {
    // With g fixed and no decay, v_t = g (1 - mu^t) / (1 - mu), so after T steps
    // classical: w_T = w_0 - lr g S,            S = sum_t (1 - mu^t) / (1 - mu)
    // Nesterov:  w_T = w_0 - lr g (T + mu S)    (each step is g + mu v_t).
    let (n, p, t, mu) = (37u32, 3u32, 6usize, 0.9f64);
    let w = random((n * p) as usize, 21, -1.0, 1.0);
    let g = random(w.len(), 22, -1.0, 1.0);
    let lr = [0.05f32, 0.1, 0.013];
    let s: f64 = (1..=t)
        .map(|k| (1.0 - mu.powi(k as i32)) / (1.0 - mu))
        .sum();
    for nesterov in [false, true] {
        let factor = if nesterov { t as f64 + mu * s } else { s };
        let expect: Vec<f32> = (0..w.len())
            .map(|i| (w[i] as f64 - lr[i / n as usize] as f64 * g[i] as f64 * factor) as f32)
            .collect();
        let sp = sgd_params(n, p, mu as f32, 0.0, nesterov);
        for be in [&mut gpu() as &mut dyn Backend, &mut CpuBackend::new()] {
            let got = steps(be, &w, &g, &lr, &sp, t);
            assert!(max_rel_err(&got, &expect) < 2e-5, "nesterov {nesterov}");
        }
    }
}

#[test]
fn weight_decay_two_steps_by_hand() {
    let (w0, g, lr, mu, wd) = (0.7f64, -0.3f64, 0.1f64, 0.8f64, 0.05f64);
    // PyTorch: d = g + wd w; v = mu v + d; step = d + mu v (Nesterov) or v.
    let d1 = g + wd * w0;
    let v1 = d1;
    let w1n = w0 - lr * (d1 + mu * v1);
    let w1c = w0 - lr * v1;
    let w2n = w1n - lr * ((g + wd * w1n) + mu * (mu * v1 + g + wd * w1n));
    let w2c = w1c - lr * (mu * v1 + g + wd * w1c);
    for (nesterov, expect) in [(true, w2n), (false, w2c)] {
        let sp = sgd_params(1, 1, mu as f32, wd as f32, nesterov);
        for be in [&mut gpu() as &mut dyn Backend, &mut CpuBackend::new()] {
            let got = steps(be, &[w0 as f32], &[g as f32], &[lr as f32], &sp, 2)[0] as f64;
            assert!(
                (got - expect).abs() < 1e-6,
                "nesterov {nesterov}: {got} vs {expect}"
            );
        }
    }
}

#[test]
fn nesterov_gpu_matches_cpu_on_awkward_sizes() {
    for &(n, p) in &[(1u32, 1u32), (257, 3), (1023, 2)] {
        let w = random((n * p) as usize, 31, -1.0, 1.0);
        let g = random(w.len(), 32, -1.0, 1.0);
        let lr = random(p as usize, 33, 0.01, 0.2);
        let sp = sgd_params(n, p, 0.9, 5e-4, true);
        let a = steps(&mut gpu(), &w, &g, &lr, &sp, 3);
        let b = steps(&mut CpuBackend::new(), &w, &g, &lr, &sp, 3);
        assert!(max_rel_err(&a, &b) < 1e-6);
    }
}

#[test]
fn step_schedule_drops_at_fractions() {
    let o = OptimizerConfig {
        lr_drops: vec![0.5, 0.75],
        lr_decay: 0.2,
        ..OptimizerConfig::default()
    };
    let f: Vec<f64> = (0..8).map(|e| o.lr_factor(e, 8)).collect();
    let want = [1.0, 1.0, 1.0, 1.0, 0.2, 0.2, 0.04, 0.04];
    for (a, b) in f.iter().zip(want) {
        assert!((a - b).abs() < 1e-12, "{f:?}");
    }
    assert!((0..5).all(|e| OptimizerConfig::default().lr_factor(e, 5) == 1.0));
}

/// Ideal device and fine converters: in-situ Nesterov training (cells programmed with the
/// Nesterov step) follows float Nesterov training.
#[test]
fn in_situ_nesterov_tracks_float() {
    let sets: Vec<String> = [
        "train.epochs=1",
        "data.train_limit=1000",
        "data.test_limit=500",
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
        "optimizer.momentum=0.5",
        "optimizer.nesterov=true",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let base = include_str!("../../configs/xbar_mlp_bp.toml");
    let x = insitu::config::parse(base, "test", &sets).unwrap();
    let mut f = x.clone();
    f.array = None;
    f.device = None;
    let run =
        |cfg| insitu::experiment::run(&mut CpuBackend::new(), cfg, &Default::default()).unwrap();
    let (rx, rf) = (run(&x), run(&f));
    let (a, b) = (rx.epochs[0].test_accuracy, rf.epochs[0].test_accuracy);
    assert!((a - b).abs() < 0.02, "in situ {a} vs float {b}");
    let (la, lb) = (rx.epochs[0].train_loss, rf.epochs[0].train_loss);
    assert!((la - lb).abs() < 0.05 * lb, "loss {la} vs {lb}");
}
