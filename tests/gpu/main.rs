//! GPU kernels against their CPU twins, and the kernel table against the shader and twin files.
//! One test binary per topic: each binary links the whole crate.

#[path = "../common/mod.rs"]
mod common;

mod augment;
mod bn;
mod calibration;
mod cnn;
mod gemm;
mod kernels;
mod ops;
mod shaders;
mod xbar;
