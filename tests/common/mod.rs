//! Shared by the integration tests: one GPU device per test binary, random data.

#![allow(dead_code)]

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
