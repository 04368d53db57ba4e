//! The kernel table: every GPU kernel (a WGSL entry point) beside its CPU twin, its parameter
//! struct and the [`Backend`](super::Backend) operation that runs it.
//!
//! The GPU builds its kernel handles from this table (`gpu::shaders`), and the tests check it
//! both ways: every shader file is a kernel's module or a snippet joined into one, every twin
//! exists, every `src/cpu` file is some kernel's twin, each parameter struct has the size of the
//! shader's uniform, and every operation has a GPU-vs-CPU check.

/// One GPU kernel and its CPU twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelDef {
    /// Unique name.
    pub name: &'static str,
    /// Shader module: `shaders/<shader>.wgsl`.
    pub shader: &'static str,
    /// Entry point in the module.
    pub entry: &'static str,
    /// The uniform parameters at binding 0: the Rust struct's name.
    pub params: &'static str,
    /// Its size in bytes where the struct is public in `backend::ops` (checked against the
    /// shader's); `None` for the crossbar kernels, whose parameters stay private to `gpu::xbar`.
    pub params_size: Option<usize>,
    /// The CPU twin: `path::function`, the path from the repository root. A twin in `src/cpu/`
    /// is named after its shader (`sgd.wgsl` -> `sgd.rs`; `bn_infer.wgsl` -> `bn.rs`).
    pub twin: &'static str,
    /// The `Backend` method that dispatches the kernel (`None`: a test-only kernel). The
    /// GPU-vs-CPU tests check every operation once on both backends.
    pub op: Option<&'static str>,
}

use super::ops::*;
use std::mem::size_of;

const fn def(
    name: &'static str,
    shader: &'static str,
    entry: &'static str,
    params: (&'static str, Option<usize>),
    twin: &'static str,
    op: &'static str,
) -> KernelDef {
    KernelDef {
        name,
        shader,
        entry,
        params: params.0,
        params_size: params.1,
        twin,
        op: Some(op),
    }
}

macro_rules! params {
    ($t:ident) => {
        (stringify!($t), Some(size_of::<$t>()))
    };
}

/// Parameters private to `gpu::xbar`.
const fn private(name: &'static str) -> (&'static str, Option<usize>) {
    (name, None)
}

/// Every kernel the GPU backend dispatches.
pub const KERNELS: &[KernelDef] = &[
    def(
        "gemm",
        "gemm",
        "main",
        params!(GemmParams),
        "src/cpu/gemm.rs::gemm",
        "gemm",
    ),
    def(
        "bias_act",
        "act",
        "bias_act",
        params!(ActParams),
        "src/cpu/act.rs::bias_act",
        "bias_act",
    ),
    def(
        "act_backward",
        "act",
        "act_backward",
        params!(ActParams),
        "src/cpu/act.rs::act_backward",
        "act_backward",
    ),
    def(
        "bias_grad",
        "act",
        "bias_grad",
        params!(ActParams),
        "src/cpu/act.rs::bias_grad",
        "bias_grad",
    ),
    def(
        "loss",
        "loss",
        "main",
        params!(LossParams),
        "src/cpu/loss.rs::loss",
        "loss",
    ),
    def(
        "accumulate",
        "metrics",
        "main",
        params!(AccumulateParams),
        "src/cpu/metrics.rs::accumulate",
        "accumulate",
    ),
    def(
        "sgd",
        "sgd",
        "main",
        params!(SgdParams),
        "src/cpu/sgd.rs::sgd",
        "sgd",
    ),
    def(
        "gather",
        "gather",
        "main",
        params!(GatherParams),
        "src/cpu/gather.rs::gather",
        "gather",
    ),
    def(
        "fill",
        "fill",
        "main",
        params!(FillParams),
        "src/cpu/fill.rs::fill",
        "fill",
    ),
    def(
        "augment",
        "augment",
        "main",
        params!(AugmentParams),
        "src/cpu/augment.rs::augment",
        "augment",
    ),
    def(
        "im2col",
        "im2col",
        "im2col",
        params!(Im2colParams),
        "src/cpu/im2col.rs::im2col",
        "im2col",
    ),
    def(
        "col2im",
        "im2col",
        "col2im",
        params!(Im2colParams),
        "src/cpu/im2col.rs::col2im",
        "col2im",
    ),
    def(
        "permute",
        "im2col_permute",
        "main",
        params!(PermuteParams),
        "src/cpu/im2col.rs::permute",
        "permute",
    ),
    def(
        "pool_forward",
        "pool",
        "forward",
        params!(PoolParams),
        "src/cpu/pool.rs::forward",
        "pool",
    ),
    def(
        "pool_backward",
        "pool",
        "backward",
        params!(PoolParams),
        "src/cpu/pool.rs::backward",
        "pool_backward",
    ),
    def(
        "l1_grad",
        "conv_sparse",
        "l1_grad",
        params!(SparseParams),
        "src/cpu/conv_sparse.rs::l1_grad",
        "l1_grad",
    ),
    def(
        "mask",
        "conv_sparse",
        "mask",
        params!(SparseParams),
        "src/cpu/conv_sparse.rs::mask",
        "mask",
    ),
    def(
        "bn_train",
        "bn",
        "train",
        params!(BnParams),
        "src/cpu/bn.rs::train",
        "bn_train",
    ),
    def(
        "bn_infer",
        "bn_infer",
        "main",
        params!(BnParams),
        "src/cpu/bn.rs::infer",
        "bn_infer",
    ),
    def(
        "bn_backward",
        "bn_backward",
        "main",
        params!(BnParams),
        "src/cpu/bn.rs::backward",
        "bn_backward",
    ),
    def(
        "add",
        "residual",
        "main",
        params!(AddParams),
        "src/cpu/residual.rs::add",
        "add",
    ),
    def(
        "xbar_eff",
        "xbar_eff",
        "main",
        private("EffParams"),
        "src/xbar/effective.rs::pack",
        "xbar_read",
    ),
    def(
        "xbar_mm_clear",
        "xbar_read",
        "mm_clear",
        private("ReadParams"),
        "src/xbar/minmax.rs::empty",
        "xbar_read",
    ),
    def(
        "xbar_absmax_part",
        "xbar_absmax",
        "absmax_part",
        private("ReadParams"),
        "src/backend/xbar.rs::input_range",
        "xbar_read",
    ),
    def(
        "xbar_absmax",
        "xbar_absmax",
        "absmax",
        private("ReadParams"),
        "src/backend/xbar.rs::input_range",
        "xbar_read",
    ),
    def(
        "xbar_read",
        "xbar_read",
        "read_fused",
        private("ReadParams"),
        "src/xbar/read.rs::read_with",
        "xbar_read",
    ),
    def(
        "xbar_histogram",
        "xbar_read",
        "read_histogram",
        private("ReadParams"),
        "src/backend/calibration.rs::level_histogram",
        "xbar_calibrate_read",
    ),
    def(
        "xbar_program",
        "xbar_program",
        "program",
        private("ProgramParams"),
        "src/xbar/program.rs::program",
        "xbar_program",
    ),
    def(
        "xbar_row_max",
        "xbar_program",
        "row_max_sum",
        private("ProgramParams"),
        "src/xbar/program.rs::program",
        "xbar_program",
    ),
    KernelDef {
        name: "philox_test",
        shader: "philox_test",
        entry: "main",
        params: "PhiloxTestParams",
        params_size: None,
        twin: "src/rng/philox.rs::philox4x32_10",
        op: None,
    },
];

/// WGSL files joined in front of kernel modules rather than compiled alone.
pub const SNIPPETS: &[&str] = &[
    "philox",
    "philox_mul32",
    "philox_mul64",
    "bn_common",
    "xbar_table",
    "xbar_read_params",
    "reduce",
    "reduce_subgroup",
];

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The kernel called `name`; a name not in the table fails to compile where used in a constant.
pub const fn kernel(name: &str) -> &'static KernelDef {
    let mut i = 0;
    while i < KERNELS.len() {
        if same(KERNELS[i].name, name) {
            return &KERNELS[i];
        }
        i += 1;
    }
    panic!("no such kernel in backend::kernels::KERNELS")
}

/// Every shader module with a kernel, in table order, once each.
pub fn shaders() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KERNELS {
        if !out.contains(&k.shader) {
            out.push(k.shader);
        }
    }
    out
}

/// Every `Backend` operation with a kernel, in table order, once each.
pub fn ops() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for op in KERNELS.iter().filter_map(|k| k.op) {
        if !out.contains(&op) {
            out.push(op);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_entries_distinct() {
        for (i, a) in KERNELS.iter().enumerate() {
            for b in &KERNELS[i + 1..] {
                assert_ne!(a.name, b.name, "kernel name repeated");
                assert!(
                    (a.shader, a.entry) != (b.shader, b.entry),
                    "{} and {} name the same entry point",
                    a.name,
                    b.name
                );
            }
        }
        assert_eq!(kernel("sgd").shader, "sgd");
    }

    /// A twin in `src/cpu/` carries its shader's name, or the stem its shader's name extends.
    #[test]
    fn cpu_twins_are_named_after_their_shaders() {
        for k in KERNELS {
            let Some(file) = k.twin.strip_prefix("src/cpu/") else {
                continue;
            };
            let stem = file.split(".rs::").next().unwrap();
            assert!(
                k.shader == stem || k.shader.starts_with(&format!("{stem}_")),
                "{}: twin {} is not named after shaders/{}.wgsl",
                k.name,
                k.twin,
                k.shader
            );
        }
    }
}
