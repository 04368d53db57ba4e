//! The kernel parameters of one convolution over the P instances of a network. Maps are
//! `[P][C][rows OH OW]`, dense for the batch's `rows` images, so a layer's input is one
//! channel-major map of P C_in channels whose unrolled columns are `[P][k k C_in][n]`
//! (n = rows OH OW). Layer 0 reads the images every instance shares: its columns are unrolled
//! once and read by every instance (GEMM stride 0).

use crate::backend::*;
use crate::nn::conv::{ConvGeom, Layout};

/// One convolution of geometry `g` over `rows` images of `p` instances; `layout` Nchw for the
/// shared images, Cnhw for the instances' own maps.
#[derive(Clone, Copy)]
pub(super) struct ConvOps {
    pub g: ConvGeom,
    pub layout: Layout,
    pub p: usize,
    pub rows: usize,
}

impl ConvOps {
    /// The input is the images every instance shares (unrolled once).
    fn shared(&self) -> bool {
        self.layout == Layout::Nchw
    }

    /// Output pixels of the batch per channel.
    pub fn n(&self) -> usize {
        self.rows * self.g.positions()
    }

    /// Instances whose columns are unrolled: 1 for shared images, else P.
    fn col_instances(&self) -> usize {
        if self.shared() {
            1
        } else {
            self.p
        }
    }

    /// Values between two instances' columns, also once permuted (0: shared).
    pub fn cols_stride(&self) -> u32 {
        if self.shared() {
            0
        } else {
            (self.g.fan_in() * self.n()) as u32
        }
    }

    /// Unrolls the input: the P C_in channels of the instances' maps as one map.
    pub fn im2col(&self) -> Im2colParams {
        let q = self.col_instances() as u32;
        let p = self.g.im2col(self.rows, self.layout);
        Im2colParams {
            c: p.c * q,
            count: p.count * q,
            ..p
        }
    }

    /// Folds column gradients back onto the P C_in input channels.
    pub fn col2im(&self) -> Im2colParams {
        let q = self.col_instances() as u32;
        let p = self.g.col2im(self.rows, self.layout);
        Im2colParams {
            c: p.c * q,
            count: p.count * q,
            ..p
        }
    }

    /// Instance strides of `gemm`'s operands (A, B, C), batched over P.
    fn batched(&self, mut gemm: Gemm, a: usize, b: u32, c: usize) -> Gemm {
        gemm.batch = self.p as u32;
        gemm.params.stride_a = a as u32;
        gemm.params.stride_b = b;
        gemm.params.stride_c = c as u32;
        gemm
    }

    fn weights(&self) -> usize {
        self.g.c_out * self.g.fan_in()
    }

    /// `out[p] = W[p] cols[p]`.
    pub fn forward_gemm(&self) -> Gemm {
        let f = self.g.forward_gemm(self.rows);
        self.batched(
            f,
            self.weights(),
            self.cols_stride(),
            self.g.c_out * self.n(),
        )
    }

    /// `cols[p] -> colsT[p]` (`[n][k k C_in]`, once for shared images).
    pub fn cols_transpose(&self) -> PermuteParams {
        let stride = self.cols_stride() as usize;
        self.g
            .cols_transpose(self.rows)
            .instances(self.col_instances(), stride)
    }

    /// `dW[p] = d[p] colsT[p]`.
    pub fn weight_grad_gemm(&self) -> Gemm {
        let f = self.g.weight_grad_gemm(self.rows);
        self.batched(
            f,
            self.g.c_out * self.n(),
            self.cols_stride(),
            self.weights(),
        )
    }

    /// `d[p] -> dT[p]` (`[n][C_out]`).
    pub fn error_transpose(&self) -> PermuteParams {
        let stride = self.g.c_out * self.n();
        self.g.error_transpose(self.rows).instances(self.p, stride)
    }

    /// `dcolsT[p] = dT[p] W[p]`.
    pub fn input_grad_gemm(&self) -> Gemm {
        let f = self.g.input_grad_gemm(self.rows);
        let cols = self.g.fan_in() * self.n();
        self.batched(f, self.g.c_out * self.n(), self.weights() as u32, cols)
    }

    /// `dcolsT[p] -> dcols[p]`.
    pub fn cols_untranspose(&self) -> PermuteParams {
        let stride = self.g.fan_in() * self.n();
        self.g.cols_untranspose(self.rows).instances(self.p, stride)
    }

    /// `cols[p] [C_in][k k][n] -> [k k][C_in][n]` (PENNI's basis step; once for shared images).
    pub fn taps_first(&self) -> PermuteParams {
        let (kk, n) = (self.g.k * self.g.k, self.n());
        let stride = self.cols_stride() as usize;
        PermuteParams::new(self.g.c_in, kk, n).instances(self.col_instances(), stride)
    }

    /// Crossbar reads: the unrolled rows `[P][n][k k C_in]` (shared: stride 0) and the
    /// outputs `[P][n][C_out]`, as (row length, instance stride).
    pub fn read_rows(&self) -> ((usize, usize), (usize, usize)) {
        let (fi, fo) = (self.g.fan_in(), self.g.c_out);
        ((fi, self.cols_stride() as usize), (fo, fo * self.n()))
    }

    /// The outputs `[P][n][C_out]` of a read back into the maps `[P][C_out][n]`.
    pub fn read_untranspose(&self) -> PermuteParams {
        let (n, fo) = (self.n(), self.g.c_out);
        PermuteParams::new(n, fo, 1).instances(self.p, n * fo)
    }
}
