//! Geometry of one convolution over a batch, and the kernel parameters derived from it.

use crate::backend::{Gemm, Im2colParams, PermuteParams};

/// Where a conv layer's input lives: NCHW images (the data) or channel-major CNHW maps (what
/// conv layers write, so that one GEMM over the whole batch gives every output channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Nchw,
    Cnhw,
}

/// A convolution's shape (per image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad - self.k) / self.stride + 1
    }

    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.k) / self.stride + 1
    }

    /// Output pixels per image.
    pub fn positions(&self) -> usize {
        self.out_h() * self.out_w()
    }

    /// Rows of the unrolled kernel matrix: k k C_in.
    pub fn fan_in(&self) -> usize {
        self.k * self.k * self.c_in
    }

    /// Unrolling parameters for `batch` images in `layout`; `count` covers the columns.
    pub fn im2col(&self, batch: usize, layout: Layout) -> Im2colParams {
        let plane = (self.h * self.w) as u32;
        let (sb, sc) = match layout {
            Layout::Nchw => (self.c_in as u32 * plane, plane),
            Layout::Cnhw => (plane, batch as u32 * plane),
        };
        Im2colParams {
            batch: batch as u32,
            c: self.c_in as u32,
            h: self.h as u32,
            w: self.w as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            count: (self.fan_in() * batch * self.positions()) as u32,
            oh: self.out_h() as u32,
            ow: self.out_w() as u32,
            sb,
            sc,
        }
    }

    /// As [`Self::im2col`] with `count` covering the input (for `col2im`).
    pub fn col2im(&self, batch: usize, layout: Layout) -> Im2colParams {
        Im2colParams {
            count: (batch * self.c_in * self.h * self.w) as u32,
            ..self.im2col(batch, layout)
        }
    }

    /// `out[C_out][B P] = W[C_out][k k C_in] cols[k k C_in][B P]`.
    pub fn forward_gemm(&self, batch: usize) -> Gemm {
        let n = (batch * self.positions()) as u32;
        Gemm::dense(self.c_out as u32, n, self.fan_in() as u32, false, false, 1)
    }

    /// `dW[C_out][k k C_in] = d[C_out][B P] colsT[B P][k k C_in]`, with the columns
    /// transposed first so that both operands stream along rows (the reference GEMM is an
    /// order of magnitude slower on a transposed B of this shape).
    pub fn weight_grad_gemm(&self, batch: usize) -> Gemm {
        let n = (batch * self.positions()) as u32;
        Gemm::dense(self.c_out as u32, self.fan_in() as u32, n, false, false, 1)
    }

    /// Transposes the columns `[k k C_in][B P] -> [B P][k k C_in]`.
    pub fn cols_transpose(&self, batch: usize) -> PermuteParams {
        PermuteParams::new(self.fan_in(), batch * self.positions(), 1)
    }

    /// `dcolsT[B P][k k C_in] = dT[B P][C_out] W`: the sparse error (ReLU and max-pool
    /// zeros) is the left operand, whose zeros the reference GEMM skips.
    pub fn input_grad_gemm(&self, batch: usize) -> Gemm {
        let n = (batch * self.positions()) as u32;
        Gemm::dense(n, self.fan_in() as u32, self.c_out as u32, false, false, 1)
    }

    /// Transposes the output error `[C_out][B P] -> [B P][C_out]`.
    pub fn error_transpose(&self, batch: usize) -> PermuteParams {
        PermuteParams::new(self.c_out, batch * self.positions(), 1)
    }

    /// Transposes column gradients back `[B P][k k C_in] -> [k k C_in][B P]`.
    pub fn cols_untranspose(&self, batch: usize) -> PermuteParams {
        PermuteParams::new(batch * self.positions(), self.fan_in(), 1)
    }
}
