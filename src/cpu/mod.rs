//! Reference kernels: the test oracle for every GPU kernel and the `--backend cpu` path.

pub mod act;
pub mod augment;
pub mod backend;
pub mod bn;
pub mod conv;
pub mod gemm;
pub mod loss;
pub mod pool;
pub mod update;

pub use backend::CpuBackend;
