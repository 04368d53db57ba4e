//! Initial weights and DFA feedback matrices, drawn on the host from Philox so that every
//! backend starts from the same numbers.

use crate::config::{Feedback, Init};
use crate::rng::{key, philox4x32_10, uniform, Purpose};

/// `n` uniform draws in (-limit, limit) from stream (seed, purpose, stream).
pub fn uniform_sym(n: usize, limit: f32, seed: u64, purpose: Purpose, stream: u32) -> Vec<f32> {
    let k = key(seed, purpose, stream);
    (0..n)
        .map(|i| limit * (2.0 * uniform(philox4x32_10([i as u32, 0, 0, 0], k)[0]) - 1.0))
        .collect()
}

/// Weights of a `fan_out x fan_in` layer.
pub fn weights(init: Init, fan_in: usize, fan_out: usize, seed: u64, layer: u32) -> Vec<f32> {
    let n = fan_in * fan_out;
    match init {
        Init::Zero => vec![0.0; n],
        Init::He => uniform_sym(n, (6.0 / fan_in as f32).sqrt(), seed, Purpose::Init, layer),
        Init::Xavier => uniform_sym(
            n,
            (6.0 / (fan_in + fan_out) as f32).sqrt(),
            seed,
            Purpose::Init,
            layer,
        ),
    }
}

/// The stacked feedback matrix B = [B_1; ...; B_{L-1}] (sum of hidden widths x classes).
pub fn feedback(kind: Feedback, hidden: &[usize], classes: usize, seed: u64) -> Vec<f32> {
    let mut out = Vec::with_capacity(hidden.iter().sum::<usize>() * classes);
    let widest = hidden.iter().copied().max().unwrap_or(0);
    let shared = uniform_sym(widest * classes, 1.0, seed, Purpose::Feedback, u32::MAX);
    for (l, &n) in hidden.iter().enumerate() {
        let scale = 1.0 / (n as f32).sqrt();
        let block: Vec<f32> = match kind {
            Feedback::Independent => {
                uniform_sym(n * classes, scale, seed, Purpose::Feedback, l as u32)
            }
            Feedback::Shared => shared[..n * classes].iter().map(|v| v * scale).collect(),
            Feedback::Sign => uniform_sym(n * classes, 1.0, seed, Purpose::Feedback, l as u32)
                .iter()
                .map(|v| if *v >= 0.0 { scale } else { -scale })
                .collect(),
        };
        out.extend(block);
    }
    out
}
