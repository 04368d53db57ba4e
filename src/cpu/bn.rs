//! Twins of `shaders/bn.wgsl`, `shaders/bn_infer.wgsl` and `shaders/bn_backward.wgsl`.
//! Sums run in f64: the GPU's tree order differs anyway, and the oracle should be the more
//! accurate of the two.

use crate::backend::BnParams;

fn dims(p: &BnParams) -> (usize, usize) {
    (p.c as usize, p.n as usize)
}

/// Per-channel batch mean and biased variance of `x[c][n]`.
fn stats(x: &[f32], ch: usize, n: usize) -> (f32, f32) {
    let row = &x[ch * n..(ch + 1) * n];
    let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    (mean as f32, var as f32)
}

pub struct TrainOut<'a> {
    pub y: &'a mut [f32],
    pub save: &'a mut [f32],
    pub running: &'a mut [f32],
}

pub fn train(x: &[f32], gamma: &[f32], beta: &[f32], out: TrainOut, p: &BnParams) {
    let (c, n) = dims(p);
    for ch in 0..c {
        let (mean, var) = stats(x, ch, n);
        let istd = 1.0 / (var + p.eps).sqrt();
        let g = gamma[ch] * istd;
        for j in 0..n {
            out.y[ch * n + j] = (x[ch * n + j] - mean) * g + beta[ch];
        }
        out.save[ch] = mean;
        out.save[c + ch] = istd;
        let unbiased = var * n as f32 / (n.max(2) - 1) as f32;
        let m = p.momentum;
        out.running[ch] = (1.0 - m) * out.running[ch] + m * mean;
        out.running[c + ch] = (1.0 - m) * out.running[c + ch] + m * unbiased;
    }
}

pub fn infer(x: &[f32], gamma: &[f32], beta: &[f32], running: &[f32], y: &mut [f32], p: &BnParams) {
    let (c, n) = dims(p);
    for (i, out) in y.iter_mut().enumerate().take(c * n) {
        let ch = i / n;
        let istd = 1.0 / (running[c + ch] + p.eps).sqrt();
        *out = (x[i] - running[ch]) * gamma[ch] * istd + beta[ch];
    }
}

pub struct Grads<'a> {
    pub dx: &'a mut [f32],
    pub dgamma: &'a mut [f32],
    pub dbeta: &'a mut [f32],
}

pub fn backward(x: &[f32], dy: &[f32], gamma: &[f32], save: &[f32], g: Grads, p: &BnParams) {
    let (c, n) = dims(p);
    for ch in 0..c {
        let (mean, istd) = (save[ch], save[c + ch]);
        let xh = |j: usize| (x[ch * n + j] - mean) * istd;
        let db: f64 = (0..n).map(|j| dy[ch * n + j] as f64).sum();
        let dg: f64 = (0..n).map(|j| (dy[ch * n + j] * xh(j)) as f64).sum();
        let (db, dg) = (db as f32, dg as f32);
        let k = gamma[ch] * istd;
        let inv_n = 1.0 / n as f32;
        for j in 0..n {
            g.dx[ch * n + j] = k * (dy[ch * n + j] - db * inv_n - xh(j) * dg * inv_n);
        }
        g.dbeta[ch] = db;
        g.dgamma[ch] = dg;
    }
}
