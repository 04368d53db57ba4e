//! Batch normalisation and residual-addition kernels on the GPU against their CPU twins, on
//! awkward shapes (channel counts that are not multiples of anything, pixel counts below,
//! around and well above one workgroup), plus closed-form checks of the CPU twins.

use crate::common;

use common::{gpu, max_rel_err, random};
use insitu::backend::*;
use insitu::cpu::CpuBackend;

const SHAPES: &[(usize, usize)] = &[
    (1, 1),
    (3, 7),
    (5, 255),
    (2, 256),
    (7, 257),
    (4, 1000),
    (13, 3 * 64),
];

fn upload(be: &mut dyn Backend, v: &[f32]) -> Buf {
    let b = be.alloc(v.len());
    be.write(b, v);
    b
}

/// Runs the training forward, the backward and the inference forward on `be`; returns
/// (y, save, running, dx, dgamma, dbeta, y_infer).
fn run_all(be: &mut dyn Backend, c: usize, n: usize, seed: u32) -> Vec<Vec<f32>> {
    let p = BnParams::new(c, n, 1e-5, 0.1);
    let x = upload(be, &random(c * n, seed, -2.0, 3.0));
    let dy = upload(be, &random(c * n, seed + 1, -1.0, 1.0));
    let gamma = upload(be, &random(c, seed + 2, 0.5, 1.5));
    let beta = upload(be, &random(c, seed + 3, -0.5, 0.5));
    let mut run0 = random(c, seed + 4, -0.1, 0.1);
    run0.extend(random(c, seed + 5, 0.5, 2.0));
    let running = upload(be, &run0);
    let y = upload(be, &vec![f32::NAN; c * n]);
    let save = upload(be, &vec![f32::NAN; 2 * c]);
    be.bn_train(x, gamma, beta, y, save, running, &p);
    let dx = upload(be, &vec![f32::NAN; c * n]);
    let dg = upload(be, &vec![f32::NAN; c]);
    let db = upload(be, &vec![f32::NAN; c]);
    be.bn_backward(x, dy, gamma, save, dx, dg, db, &p);
    let yi = upload(be, &vec![f32::NAN; c * n]);
    be.bn_infer(x, gamma, beta, running, yi, &p);
    [y, save, running, dx, dg, db, yi]
        .iter()
        .map(|b| be.read(*b))
        .collect()
}

/// Both reductions: subgroup operations where the adapter has them, and the workgroup tree.
#[test]
fn bn_kernels_match_cpu() {
    let mut g = gpu();
    let mut cpu = CpuBackend::new();
    let subgroups = g.subgroup_reductions();
    eprintln!("adapter SUBGROUP: {subgroups}");
    for plain in [false, true] {
        g.force_plain_reductions = plain;
        let what = format!("subgroups {}", g.subgroup_reductions());
        check_bn(&mut g, &mut cpu, &what);
    }
}

fn check_bn(g: &mut dyn Backend, cpu: &mut CpuBackend, what: &str) {
    for (i, &(c, n)) in SHAPES.iter().enumerate() {
        let a = run_all(g, c, n, 10 * i as u32);
        let b = run_all(cpu, c, n, 10 * i as u32);
        let names = ["y", "save", "running", "dx", "dgamma", "dbeta", "y_infer"];
        for ((x, y), name) in a.iter().zip(&b).zip(names) {
            assert!(
                x.iter().all(|v| v.is_finite()),
                "{what} {c}x{n} {name}: unwritten or not finite"
            );
            // dx is a difference of near-equal terms; compare it against its own scale.
            let tol = if name == "dx" { 2e-3 } else { 1e-4 };
            let e = max_rel_err(x, y);
            assert!(e < tol, "{what} {c}x{n} {name}: rel err {e}");
        }
    }
}

#[test]
fn add_matches_cpu() {
    for n in [1, 255, 257, 70_000] {
        let x = random(n, 3, -1.0, 1.0);
        let y0 = random(n, 4, -1.0, 1.0);
        let mut outs = Vec::new();
        let mut g = gpu();
        let mut cpu = CpuBackend::new();
        for be in [&mut g as &mut dyn Backend, &mut cpu as &mut dyn Backend] {
            let xb = upload(be, &x);
            let yb = upload(be, &y0);
            be.add(
                yb,
                xb,
                &AddParams {
                    count: n as u32,
                    _pad: [0; 3],
                },
            );
            outs.push(be.read(yb));
        }
        assert_eq!(outs[0], outs[1], "n = {n}");
        assert!((outs[1][n - 1] - (x[n - 1] + y0[n - 1])).abs() < 1e-7);
    }
}

/// Closed forms: the normalised output has zero mean and (biased) unit variance per channel
/// before gamma/beta; dx is orthogonal to 1 and to x-hat (the two directions BN removes); the
/// backward matches central finite differences of sum(dy * y).
#[test]
fn cpu_twin_closed_forms() {
    let (c, n) = (3, 50);
    let mut be = CpuBackend::new();
    let p = BnParams::new(c, n, 1e-5, 0.1);
    let xv = random(c * n, 1, -2.0, 3.0);
    let dyv = random(c * n, 2, -1.0, 1.0);
    let gv = vec![1.0; c];
    let bv = vec![0.0; c];
    let x = upload(&mut be, &xv);
    let dy = upload(&mut be, &dyv);
    let gamma = upload(&mut be, &gv);
    let beta = upload(&mut be, &bv);
    let running = upload(&mut be, &[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let (y, save) = (be.alloc(c * n), be.alloc(2 * c));
    be.bn_train(x, gamma, beta, y, save, running, &p);
    let yv = be.read(y);
    let run = be.read(running);
    for ch in 0..c {
        let row = &yv[ch * n..(ch + 1) * n];
        let m: f32 = row.iter().sum::<f32>() / n as f32;
        let v: f32 = row.iter().map(|a| (a - m) * (a - m)).sum::<f32>() / n as f32;
        assert!(
            m.abs() < 1e-5 && (v - 1.0).abs() < 1e-3,
            "channel {ch}: mean {m} var {v}"
        );
        let xr = &xv[ch * n..(ch + 1) * n];
        let xm = xr.iter().sum::<f32>() / n as f32;
        let xvar = xr.iter().map(|a| (a - xm) * (a - xm)).sum::<f32>() / (n - 1) as f32;
        assert!((run[ch] - 0.1 * xm).abs() < 1e-5);
        assert!((run[c + ch] - (0.9 + 0.1 * xvar)).abs() < 1e-4);
    }
    let (dx, dg, db) = (be.alloc(c * n), be.alloc(c), be.alloc(c));
    be.bn_backward(x, dy, gamma, save, dx, dg, db, &p);
    let dxv = be.read(dx);
    for ch in 0..c {
        let s: f32 = dxv[ch * n..(ch + 1) * n].iter().sum();
        let t: f32 = (0..n).map(|j| dxv[ch * n + j] * yv[ch * n + j]).sum();
        assert!(s.abs() < 1e-4 && t.abs() < 1e-3, "channel {ch}: {s} {t}");
    }
    // Finite differences of L = sum(dy * y) with respect to a few inputs.
    let loss = |xs: &[f32]| -> f64 {
        let mut b = CpuBackend::new();
        let x = upload(&mut b, xs);
        let gamma = upload(&mut b, &gv);
        let beta = upload(&mut b, &bv);
        let running = b.alloc(2 * c);
        let (y, save) = (b.alloc(c * n), b.alloc(2 * c));
        b.bn_train(x, gamma, beta, y, save, running, &p);
        b.read(y)
            .iter()
            .zip(&dyv)
            .map(|(a, d)| (a * d) as f64)
            .sum()
    };
    for i in [0, 17, 60, 149] {
        let h = 1e-2;
        let (mut up, mut dn) = (xv.clone(), xv.clone());
        up[i] += h;
        dn[i] -= h;
        let fd = (loss(&up) - loss(&dn)) / (2.0 * h as f64);
        assert!(
            (fd as f32 - dxv[i]).abs() < 2e-3,
            "x[{i}]: fd {fd} vs {}",
            dxv[i]
        );
    }
}
