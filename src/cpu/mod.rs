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
#[cfg(test)]
mod test_values;

pub use backend::CpuBackend;
