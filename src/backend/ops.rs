//! Parameters of every kernel, laid out exactly as the WGSL `Params` structs (uniform buffers)
//! and read identically by the CPU twins.

use bytemuck::{Pod, Zeroable};

pub use crate::config::{Activation, LossKind};

/// `C[p] = alpha op(A[p]) op(B[p]) + beta C[p]`; see `shaders/gemm.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct GemmParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub lda: u32,
    pub ldb: u32,
    pub ldc: u32,
    pub off_a: u32,
    pub off_b: u32,
    pub off_c: u32,
    pub stride_a: u32,
    pub stride_b: u32,
    pub stride_c: u32,
    pub alpha: f32,
    pub beta: f32,
    pub _pad: [u32; 2],
}

/// A batched matrix product and its operand orientation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gemm {
    pub params: GemmParams,
    pub trans_a: bool,
    pub trans_b: bool,
    /// Instances (the population axis).
    pub batch: u32,
}

impl Gemm {
    /// Dense row-major operands with natural leading dimensions, C overwritten.
    pub fn dense(m: u32, n: u32, k: u32, trans_a: bool, trans_b: bool, batch: u32) -> Gemm {
        let lda = if trans_a { m } else { k };
        let ldb = if trans_b { k } else { n };
        Gemm {
            params: GemmParams {
                m,
                n,
                k,
                lda,
                ldb,
                ldc: n,
                off_a: 0,
                off_b: 0,
                off_c: 0,
                stride_a: m * k,
                stride_b: k * n,
                stride_c: m * n,
                alpha: 1.0,
                beta: 0.0,
                _pad: [0; 2],
            },
            trans_a,
            trans_b,
            batch,
        }
    }
}

/// Two strided matrix views for activation kernels; see `shaders/act.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct ActParams {
    pub rows: u32,
    pub cols: u32,
    pub count: u32,
    pub act: u32,
    pub ld0: u32,
    pub off0: u32,
    pub stride0: u32,
    pub ld1: u32,
    pub off1: u32,
    pub stride1: u32,
    pub _pad: [u32; 2],
}

/// See `shaders/loss.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct LossParams {
    pub rows: u32,
    pub classes: u32,
    pub count: u32,
    pub kind: u32,
    pub off_y: u32,
    pub stride_y: u32,
    pub _pad0: [u32; 2],
    pub scale: f32,
    pub _pad1: [f32; 3],
}

/// See `shaders/metrics.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct AccumulateParams {
    pub rows: u32,
    pub count: u32,
    pub _pad: [u32; 2],
}

/// See `shaders/sgd.wgsl`. `nesterov` (0 or 1) steps by `g + wd w + momentum v` instead of
/// `v` (PyTorch's formulation).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct SgdParams {
    pub n: u32,
    pub count: u32,
    pub off: u32,
    pub nesterov: u32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub _pad1: [f32; 2],
}

/// See `shaders/gather.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct GatherParams {
    pub rows: u32,
    pub features: u32,
    pub start: u32,
    pub count: u32,
}

/// Random crop and flip of `rows` images `[c][h][w]` from `x` into `y`; see
/// `shaders/augment.wgsl` and `data::augment`. `first` is row 0's sample index in the epoch,
/// (`key0`, `key1`) the epoch's Philox key; `pad` 0 and `flip` 0 copy.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct AugmentParams {
    pub rows: u32,
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub count: u32,
    pub pad: u32,
    pub flip: u32,
    pub first: u32,
    pub key0: u32,
    pub key1: u32,
    pub _pad: [u32; 2],
}

/// See `shaders/fill.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct FillParams {
    pub off: u32,
    pub count: u32,
    pub value: f32,
    pub _pad: u32,
}

impl FillParams {
    /// Zeroes the first `count` values.
    pub fn zeros(count: u32) -> FillParams {
        FillParams {
            off: 0,
            count,
            value: 0.0,
            _pad: 0,
        }
    }
}

/// Unrolling of conv inputs; see `shaders/im2col.wgsl`. Input element (b, c, y, x) lives at
/// `b * sb + c * sc + y * w + x`, so one kernel reads NCHW (`sb = C H W`, `sc = H W`) and the
/// channel-major CNHW layout conv layers write (`sb = H W`, `sc = B H W`). Columns are
/// `[(c k + ky) k + kx][b OH OW + oy OW + ox]`: one crossbar column per kernel, one row per
/// output pixel of the batch. `count` is the number of elements the call computes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Im2colParams {
    pub batch: u32,
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub k: u32,
    pub stride: u32,
    pub pad: u32,
    pub count: u32,
    pub oh: u32,
    pub ow: u32,
    pub sb: u32,
    pub sc: u32,
}

/// `y[p][j][i][t] = x[off + p stride + i row + j s + t]` for `x` holding, per instance p,
/// rows i of `[b][s]` values `row` apart: `[a][b][s] -> [b][a][s]` over `count = P a b s`
/// elements (`PermuteParams::new` is the dense single-instance case); see
/// `shaders/im2col_permute.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct PermuteParams {
    pub a: u32,
    pub b: u32,
    pub s: u32,
    pub count: u32,
    /// Source offset, values between two source rows i, and between two instances.
    pub off: u32,
    pub row: u32,
    pub stride: u32,
    pub _pad: u32,
}

impl PermuteParams {
    /// `[a][b][s] -> [b][a][s]`, one dense instance.
    pub fn new(a: usize, b: usize, s: usize) -> PermuteParams {
        let (a, b, s) = (a as u32, b as u32, s as u32);
        PermuteParams {
            a,
            b,
            s,
            count: a * b * s,
            off: 0,
            row: b * s,
            stride: a * b * s,
            _pad: 0,
        }
    }

    /// The same for `p` instances, each source `stride` values after the last (0: shared).
    pub fn instances(self, p: usize, stride: usize) -> PermuteParams {
        PermuteParams {
            count: self.a * self.b * self.s * p as u32,
            stride: stride as u32,
            ..self
        }
    }

    /// Source rows `row` values apart, the first at `off` (a block of a wider matrix).
    pub fn rows(self, off: usize, row: usize) -> PermuteParams {
        PermuteParams {
            off: off as u32,
            row: row as u32,
            ..self
        }
    }
}

/// Pooling kinds, by shader code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolOp {
    Max = 0,
    Avg = 1,
}

/// Non-overlapping `kh x kw` pooling (stride = window, no padding, floor) of `planes`
/// `h x w` maps into `oh x ow`; see `shaders/pool.wgsl`. `count` is `planes oh ow` forward
/// and `planes h w` backward.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct PoolParams {
    pub planes: u32,
    pub h: u32,
    pub w: u32,
    pub kh: u32,
    pub kw: u32,
    pub oh: u32,
    pub ow: u32,
    pub op: u32,
    pub count: u32,
    pub _pad: [u32; 3],
}

/// Elementwise sparsity kernels over `count` values; see `shaders/conv_sparse.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct SparseParams {
    pub count: u32,
    pub _pad: [u32; 2],
    pub lambda: f32,
}

/// Batch normalisation over channel-major maps `[c][n]`; see `shaders/bn.wgsl`. `count` is
/// `c n` (the inference kernel's invocations).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct BnParams {
    pub c: u32,
    pub n: u32,
    pub count: u32,
    pub _pad0: u32,
    pub eps: f32,
    pub momentum: f32,
    pub _pad1: [f32; 2],
}

impl BnParams {
    pub fn new(c: usize, n: usize, eps: f32, momentum: f32) -> BnParams {
        BnParams {
            c: c as u32,
            n: n as u32,
            count: (c * n) as u32,
            _pad0: 0,
            eps,
            momentum,
            _pad1: [0.0; 2],
        }
    }
}

/// `y += x` over `count` values; see `shaders/residual.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct AddParams {
    pub count: u32,
    pub _pad: [u32; 3],
}
