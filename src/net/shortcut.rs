//! Residual shortcuts over every instance: a layer closing a residual block adds the block
//! input (the output of layer `from`), or its projection `bn(P x + b_p)`, before the
//! activation. In the backward pass the shortcut's gradient is held until the block's first
//! layer has written the block input's gradient (col2im writes, not adds), then added to it.

use super::block::{channel_view, SkipBufs};
use super::conv_instances::ConvOps;
use super::network::Net;
use crate::backend::*;
use crate::nn::conv::{ConvGeom, Layout};

fn add(be: &mut dyn Backend, y: Buf, x: Buf, count: usize) {
    be.add(
        y,
        x,
        &AddParams {
            count: count as u32,
            _pad: [0; 3],
        },
    );
}

impl Net {
    /// The shortcut of layer `l` added onto `pre` (its BN output, `[P][C_out][B OH OW]`).
    pub(super) fn shortcut_forward(&self, be: &mut dyn Backend, l: usize, pre: Buf, rows: usize) {
        let lb = &self.layers[l];
        let Some(skip) = &lb.skip else { return };
        let block_in = self.layers[skip.from].output().0;
        let q = self.instances;
        match &skip.proj {
            None => add(be, pre, block_in, q * lb.out_len(rows)),
            Some(p) => {
                let ops = self.proj_ops(p.geom, rows);
                let (c, n) = (q * p.geom.c_out, ops.n());
                be.im2col(block_in, self.cols, &ops.im2col());
                be.gemm(p.w.w, self.cols, p.out, &ops.forward_gemm());
                be.bias_act(p.out, p.bias.w, &channel_view(c, n, 0));
                let y = match &p.bn {
                    Some(bn) => {
                        bn.forward(be, p.out, p.normed, n, self.training);
                        p.normed
                    }
                    None => p.out,
                };
                add(be, pre, y, c * n);
            }
        }
    }

    /// A projection of geometry `g` over every instance's block input.
    fn proj_ops(&self, g: ConvGeom, rows: usize) -> ConvOps {
        ConvOps {
            g,
            layout: Layout::Cnhw,
            p: self.instances,
            rows,
        }
    }

    /// Gradients of layer `l`'s projection from `dy` (the gradient of the sum before the
    /// activation), its input gradient into `proj.din`. Uses `cols`/`cols_t` as scratch.
    pub(super) fn shortcut_backward(&self, be: &mut dyn Backend, l: usize, dy: Buf, rows: usize) {
        let lb = &self.layers[l];
        let Some(SkipBufs {
            from,
            proj: Some(p),
        }) = &lb.skip
        else {
            return;
        };
        let ops = self.proj_ops(p.geom, rows);
        let (c, n) = (self.instances * p.geom.c_out, ops.n());
        let dz = match &p.bn {
            Some(bn) => {
                bn.backward(be, p.out, dy, p.dout, n);
                p.dout
            }
            None => dy,
        };
        let view = channel_view(c, n, 0);
        be.bias_grad(
            p.bias.g,
            dz,
            &ActParams {
                count: c as u32,
                stride0: 1,
                ld1: 1,
                stride1: n as u32,
                ..view
            },
        );
        let block_in = self.layers[*from].output().0;
        be.im2col(block_in, self.cols, &ops.im2col());
        be.permute(self.cols, self.cols_t, &ops.cols_transpose());
        be.gemm(dz, self.cols_t, p.w.g, &ops.weight_grad_gemm());
        be.permute(dz, self.dout_t, &ops.error_transpose());
        be.gemm(self.dout_t, p.w.w, self.cols_t, &ops.input_grad_gemm());
        be.permute(self.cols_t, self.cols, &ops.cols_untranspose());
        be.col2im(self.cols, p.din, &ops.col2im());
    }

    /// Adds every shortcut gradient whose block input is layer `l`'s input into `din`, once
    /// layer `l`'s backward has written it.
    pub(super) fn add_skip_grads(&self, be: &mut dyn Backend, l: usize, din: Buf, rows: usize) {
        for lb in &self.layers {
            let Some(skip) = &lb.skip else { continue };
            if skip.from + 1 != l {
                continue;
            }
            match &skip.proj {
                None => add(be, din, lb.act_grad(), self.instances * lb.out_len(rows)),
                Some(p) => {
                    let g = p.geom;
                    add(be, din, p.din, self.instances * g.c_in * rows * g.h * g.w)
                }
            }
        }
    }
}
