//! Reference kernels: the test oracle for every GPU kernel and the `--backend cpu` path.

pub mod act;
pub mod augment;
pub mod backend;
pub mod bn;
pub mod conv_sparse;
pub mod fill;
pub mod gather;
pub mod gemm;
pub mod im2col;
pub mod loss;
pub mod metrics;
pub mod pool;
pub mod residual;
pub mod sgd;

pub use backend::CpuBackend;

#[cfg(test)]
/// Deterministic inputs for the CPU kernels' unit tests.
mod test_values {
    /// `n` values in [-1, 1) from an xorshift stream seeded by `seed`.
    pub fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }
}
