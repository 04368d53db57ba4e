//! Every WGSL kernel, embedded at build time, with the bindings each entry point uses.

/// Binding kinds, in binding order after the uniform parameters at binding 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    ReadWrite,
}

use super::tiles::{GemmTile, ReadTile};
use crate::backend::kernels;
use Access::{Read as R, ReadWrite as W};

/// A kernel: a shader module, its entry point and its storage bindings (1..).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kernel {
    pub shader: &'static str,
    pub entry: &'static str,
    pub bindings: &'static [Access],
}

/// The handle of the table kernel `name` (`backend::kernels`) with its storage bindings.
const fn kernel(name: &str, bindings: &'static [Access]) -> Kernel {
    let k = kernels::kernel(name);
    Kernel {
        shader: k.shader,
        entry: k.entry,
        bindings,
    }
}

const PHILOX_CORE: &str = include_str!("../../shaders/philox.wgsl");
const PHILOX_MUL32: &str = include_str!("../../shaders/philox_mul32.wgsl");
const PHILOX_MUL64: &str = include_str!("../../shaders/philox_mul64.wgsl");
const BN_COMMON: &str = include_str!("../../shaders/bn_common.wgsl");
/// Workgroup sums and maxima: a tree in workgroup memory, or with subgroup operations.
const REDUCE: &str = include_str!("../../shaders/reduce.wgsl");
const REDUCE_SUBGROUP: &str = include_str!("../../shaders/reduce_subgroup.wgsl");
/// The crossbar parameter-table layout (`xbar::param_table`).
const XBAR_TABLE: &str = include_str!("../../shaders/xbar_table.wgsl");
const XBAR_READ_PARAMS: &str = include_str!("../../shaders/xbar_read_params.wgsl");

/// Suffix of the module variants whose Philox multiplies natively in 64 bits (SHADER_INT64).
pub const INT64_SUFFIX: &str = "_int64";
/// Suffix that pins a Philox module to the 32-bit emulation (to test one against the other).
pub const MUL32_SUFFIX: &str = "_mul32";

/// The shaders that draw random numbers, each with its native 64-bit variant's name.
const INT64_VARIANTS: &[(&str, &str)] = &[
    ("augment", "augment_int64"),
    ("xbar_read", "xbar_read_int64"),
    ("xbar_program", "xbar_program_int64"),
    ("philox_test", "philox_test_int64"),
];

/// What the GEMM's staged slices hold (`Staged` in shaders/gemm.wgsl), per variant.
const STAGED_F32: &str = "alias Staged = f32;";
const STAGED_F16: &str = "enable f16;\nalias Staged = f16;";

/// Suffix of the module variants that reduce with subgroup operations (SUBGROUP).
pub const SUBGROUP_SUFFIX: &str = "_subgroup";

/// The shaders that reduce across a workgroup, each with its subgroup variant's name.
const SUBGROUP_VARIANTS: &[(&str, &str)] = &[
    ("bn", "bn_subgroup"),
    ("bn_backward", "bn_backward_subgroup"),
    ("xbar_absmax", "xbar_absmax_subgroup"),
];

/// The module to build for `shader` on a device with (`int64`) or without 64-bit integers,
/// reducing with (`subgroup`) or without subgroup operations.
pub fn module_name(shader: &'static str, int64: bool, subgroup: bool) -> &'static str {
    let variant = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(base, _)| *base == shader)
            .map(|(_, v)| *v)
    };
    let native = variant(INT64_VARIANTS).filter(|_| int64);
    let reduced = variant(SUBGROUP_VARIANTS).filter(|_| subgroup);
    native.or(reduced).unwrap_or(shader)
}

/// The source of a shader module by name (snippets such as Philox joined in). A name ending in
/// [`INT64_SUFFIX`] gets the native 64-bit Philox multiply, any other the 32-bit emulation; one
/// ending in [`SUBGROUP_SUFFIX`] the subgroup reductions, any other the workgroup-memory tree.
pub fn source(shader: &str) -> String {
    let (shader, reduce) = match shader.strip_suffix(SUBGROUP_SUFFIX) {
        Some(base) => (base, REDUCE_SUBGROUP),
        None => (shader, REDUCE),
    };
    let (base, philox_mul) = match shader.strip_suffix(INT64_SUFFIX) {
        Some(base) => (base, PHILOX_MUL64),
        None => (
            shader.strip_suffix(MUL32_SUFFIX).unwrap_or(shader),
            PHILOX_MUL32,
        ),
    };
    let philox = format!("{philox_mul}\n{PHILOX_CORE}");
    match base {
        "gemm" => format!("{STAGED_F32}\n{}", include_str!("../../shaders/gemm.wgsl")),
        "gemm_f16" => format!("{STAGED_F16}\n{}", include_str!("../../shaders/gemm.wgsl")),
        "act" => include_str!("../../shaders/act.wgsl").into(),
        "loss" => include_str!("../../shaders/loss.wgsl").into(),
        "metrics" => include_str!("../../shaders/metrics.wgsl").into(),
        "sgd" => include_str!("../../shaders/sgd.wgsl").into(),
        "gather" => include_str!("../../shaders/gather.wgsl").into(),
        "fill" => include_str!("../../shaders/fill.wgsl").into(),
        "augment" => format!("{philox}\n{}", include_str!("../../shaders/augment.wgsl")),
        "xbar_read" => format!(
            "{philox}\n{XBAR_TABLE}\n{XBAR_READ_PARAMS}\n{}",
            include_str!("../../shaders/xbar_read.wgsl")
        ),
        "xbar_eff" => include_str!("../../shaders/xbar_eff.wgsl").into(),
        "xbar_program" => format!(
            "{philox}\n{XBAR_TABLE}\n{}",
            include_str!("../../shaders/xbar_program.wgsl")
        ),
        "im2col" => include_str!("../../shaders/im2col.wgsl").into(),
        "im2col_permute" => include_str!("../../shaders/im2col_permute.wgsl").into(),
        "pool" => include_str!("../../shaders/pool.wgsl").into(),
        "conv_sparse" => include_str!("../../shaders/conv_sparse.wgsl").into(),
        "bn" => format!(
            "{reduce}\n{BN_COMMON}\n{}",
            include_str!("../../shaders/bn.wgsl")
        ),
        "bn_infer" => format!(
            "{BN_COMMON}\n{}",
            include_str!("../../shaders/bn_infer.wgsl")
        ),
        "bn_backward" => format!(
            "{reduce}\n{BN_COMMON}\n{}",
            include_str!("../../shaders/bn_backward.wgsl")
        ),
        "xbar_absmax" => format!(
            "{reduce}\n{XBAR_READ_PARAMS}\n{}",
            include_str!("../../shaders/xbar_absmax.wgsl")
        ),
        "residual" => include_str!("../../shaders/residual.wgsl").into(),
        "philox_test" => format!(
            "{philox}\n{}",
            include_str!("../../shaders/philox_test.wgsl")
        ),
        other => panic!("unknown shader `{other}`"),
    }
}

pub const GEMM: Kernel = kernel("gemm", &[R, R, W]);
/// [`GEMM`] staging its operand slices in f16 (opt-in: `gpu::gemm_variants::GemmPrecision`).
pub const GEMM_F16: Kernel = Kernel {
    shader: "gemm_f16",
    ..GEMM
};
pub const BIAS_ACT: Kernel = kernel("bias_act", &[W, R]);
pub const ACT_BACKWARD: Kernel = kernel("act_backward", &[W, R]);
pub const BIAS_GRAD: Kernel = kernel("bias_grad", &[W, R]);
pub const LOSS: Kernel = kernel("loss", &[R, R, W, W]);
pub const ACCUMULATE: Kernel = kernel("accumulate", &[R, W]);
pub const SGD: Kernel = kernel("sgd", &[W, W, R, R]);
pub const GATHER: Kernel = kernel("gather", &[R, R, R, W, W]);
pub const FILL: Kernel = kernel("fill", &[W]);
pub const AUGMENT: Kernel = kernel("augment", &[R, W]);
pub const PHILOX_TEST: Kernel = kernel("philox_test", &[W, W]);
/// [`PHILOX_TEST`] with the 32-bit emulated multiply whatever the adapter has.
pub const PHILOX_TEST_MUL32: Kernel = Kernel {
    shader: "philox_test_mul32",
    ..PHILOX_TEST
};

/// Crossbar read bindings, shared by `absmax` and `read`: per-instance table, state (counters
/// and per-call ring), effective conductances, input, input ranges, output, `minmax` ranges,
/// accumulators carried between the dispatches of one read.
const XBAR_READ_BINDINGS: &[Access] = &[R, W, R, R, W, W, W, W];
pub const XBAR_MM_CLEAR: Kernel = kernel("xbar_mm_clear", XBAR_READ_BINDINGS);
pub const XBAR_ABSMAX_PART: Kernel = kernel("xbar_absmax_part", XBAR_READ_BINDINGS);
pub const XBAR_ABSMAX: Kernel = kernel("xbar_absmax", XBAR_READ_BINDINGS);
pub const XBAR_READ: Kernel = kernel("xbar_read", XBAR_READ_BINDINGS);
/// The read's calibration histogram pass: the `minmax` binding holds the histogram.
pub const XBAR_HISTOGRAM: Kernel = kernel("xbar_histogram", XBAR_READ_BINDINGS);
pub const XBAR_EFF: Kernel = kernel("xbar_eff", &[R, R, W, W, R]);
/// Programming bindings, shared by `program` and `row_max_sum`: per-instance table, gradient,
/// cell curves, cells, state, per-row maxima.
const XBAR_PROGRAM_BINDINGS: &[Access] = &[R, R, R, W, W, W];
pub const XBAR_PROGRAM: Kernel = kernel("xbar_program", XBAR_PROGRAM_BINDINGS);
pub const XBAR_ROW_MAX: Kernel = kernel("xbar_row_max", XBAR_PROGRAM_BINDINGS);

pub const IM2COL: Kernel = kernel("im2col", &[R, W]);
pub const COL2IM: Kernel = kernel("col2im", &[R, W]);
pub const PERMUTE: Kernel = kernel("permute", &[R, W]);
pub const POOL_FORWARD: Kernel = kernel("pool_forward", &[R, W]);
/// Bindings: input maps, input gradient (written), output gradient.
pub const POOL_BACKWARD: Kernel = kernel("pool_backward", &[R, W, R]);
pub const L1_GRAD: Kernel = kernel("l1_grad", &[W, R]);
pub const MASK: Kernel = kernel("mask", &[W, R]);

/// One workgroup per channel. Bindings: input, gamma, beta, output, saved statistics,
/// running statistics.
pub const BN_TRAIN: Kernel = kernel("bn_train", &[R, R, R, W, W, W]);
/// Bindings: input, gamma, beta, running statistics, output.
pub const BN_INFER: Kernel = kernel("bn_infer", &[R, R, R, R, W]);
/// One workgroup per channel. Bindings: input, output gradient, gamma, saved statistics,
/// input gradient, dgamma, dbeta.
pub const BN_BACKWARD: Kernel = kernel("bn_backward", &[R, R, R, R, W, W, W]);
pub const ADD: Kernel = kernel("add", &[W, R]);

/// Every shader module to validate: each table shader and its native 64-bit and subgroup
/// variants, and the GEMM's f16 variant.
pub fn modules() -> Vec<&'static str> {
    let mut out = Vec::new();
    for shader in kernels::shaders() {
        for (int64, subgroup) in [(false, false), (true, false), (false, true)] {
            let name = module_name(shader, int64, subgroup);
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out.push(GEMM_F16.shader);
    out
}

/// Every override set used with each shader, for validation.
pub fn override_sets(shader: &str) -> Vec<Vec<(&'static str, f64)>> {
    match shader {
        "gemm" | "gemm_f16" => {
            let mut sets = Vec::new();
            for (a, b) in gemm_orientations() {
                for t in GemmTile::ALL {
                    for (vec4, slices) in [(false, 1), (false, 2), (true, 1), (true, 2)] {
                        sets.push(super::gemm_variants::constants(t, a, b, vec4, slices));
                    }
                }
            }
            sets
        }
        // Lines staged per chunk of the crossbar read (`gpu::xbar`'s choice), per tile.
        "xbar_read" => [16, 64, 128, 256]
            .iter()
            .flat_map(|&ch| {
                ReadTile::ALL.map(|t| vec![("CH", ch as f64), ("BR", t.block_rows() as f64)])
            })
            .collect(),
        _ => vec![vec![]],
    }
}

fn gemm_orientations() -> [(bool, bool); 3] {
    [(false, true), (false, false), (true, false)]
}
