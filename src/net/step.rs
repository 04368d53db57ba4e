//! The layer sequencing of a training step over every instance at once: forward (im2col and
//! the weight product per conv, bias, batch norm, shortcut, activation, pooling; flatten and
//! FC), the loss, and backward (activation and pooling gradients, the weight products'
//! gradients, col2im for the input gradient) from the output error or DFA's projections.

use super::block::channel_view;
use super::instances::permute;
use super::network::{Kind, Net};
use crate::backend::*;
use crate::nn::pool;

impl Net {
    /// Forward pass of `rows` images already in `x`.
    pub fn forward(&self, be: &mut dyn Backend, rows: usize) {
        for l in 0..self.layers.len() {
            let (input, _) = self.input_of(l);
            let act = self.act(l);
            let lb = &self.layers[l];
            match &lb.kind {
                Kind::Conv { geom: g, .. } => {
                    let ops = self.conv_ops(l, rows);
                    // Every instance's channels at once.
                    let (c, n) = (self.instances * g.c_out, ops.n());
                    be.im2col(input, self.cols, &ops.im2col());
                    self.conv_product(be, l, rows);
                    if lb.bn.is_none() && lb.skip.is_none() {
                        be.bias_act(lb.out, lb.bias.w, &channel_view(c, n, act));
                    } else {
                        // z = W x + b, then BN, the shortcut, and the activation in place.
                        be.bias_act(lb.out, lb.bias.w, &channel_view(c, n, 0));
                        let y = lb.act_buf();
                        if let Some(bn) = &lb.bn {
                            bn.forward(be, lb.out, y, n, self.training);
                        }
                        self.shortcut_forward(be, l, y, rows);
                        be.bias_act(y, self.zeros, &channel_view(c, n, act));
                    }
                    if let (Some(k), Some((p, _))) = (lb.pool, lb.pooled) {
                        let prm = pool::params(k, c * rows, g.out_h(), g.out_w());
                        be.pool(lb.act_buf(), p, &prm);
                    }
                }
                Kind::Fc {
                    fan_out, from_conv, ..
                } => {
                    let src = match (from_conv, lb.flat) {
                        (Some((c, hw)), Some((flat, _))) => {
                            // Per instance `[C][rows][OH OW] -> [rows][C OH OW]`.
                            let prm =
                                permute(*c, rows, *hw).instances(self.instances, c * rows * hw);
                            be.permute(input, flat, &prm);
                            flat
                        }
                        _ => input,
                    };
                    self.fc_product(be, l, src, rows);
                    let fo = *fan_out as u32;
                    let out_stride = (self.hyper.batch as u32) * fo;
                    be.bias_act(
                        lb.out,
                        lb.bias.w,
                        &ActParams {
                            rows: rows as u32,
                            cols: fo,
                            count: (self.instances * rows) as u32 * fo,
                            act,
                            ld0: fo,
                            off0: 0,
                            stride0: out_stride,
                            ld1: 0,
                            off1: 0,
                            stride1: fo,
                            _pad: [0; 2],
                        },
                    );
                }
            }
        }
    }

    /// Loss and its gradient into the last layer's `dout`; accumulates (loss, correct).
    pub fn loss(&self, be: &mut dyn Backend, rows: usize) {
        let (last, fan_out) = (self.layers.last().unwrap(), self.classes());
        be.loss(
            last.out,
            self.y,
            last.dout,
            self.stats,
            &LossParams {
                rows: rows as u32,
                classes: fan_out as u32,
                count: (self.instances * rows) as u32,
                kind: self.hyper.loss as u32,
                off_y: 0,
                stride_y: (self.hyper.batch * fan_out) as u32,
                _pad0: [0; 2],
                scale: self.loss_scale(rows),
                _pad1: [0.0; 3],
            },
        );
        be.accumulate(
            self.stats,
            self.acc,
            &AccumulateParams {
                rows: rows as u32,
                count: self.instances as u32,
                _pad: [0; 2],
            },
        );
    }

    /// The error signals and gradients of every trained layer (from `trained_from`) from the
    /// output error in the last layer's `dout`: backpropagation, or DFA's projections where the
    /// net has feedback matrices (`dfa`).
    pub fn backward(&self, be: &mut dyn Backend, rows: usize) {
        let first = self.trained_from;
        if first + 1 < self.layers.len() {
            self.dfa_project(be, rows);
        }
        for l in (first..self.layers.len()).rev() {
            let (input, din) = self.input_of(l);
            let din = din.filter(|_| l > first && self.passes_error(l));
            let act = self.act(l);
            let lb = &self.layers[l];
            match &lb.kind {
                Kind::Conv { geom: g, .. } => {
                    let ops = self.conv_ops(l, rows);
                    let (c, n) = (self.instances * g.c_out, ops.n() as u32);
                    let (y, dy) = (lb.act_buf(), lb.act_grad());
                    if self.dfa_error(be, l, dy, rows) {
                        // DFA: the projected error replaces the pooled maps' gradient.
                    } else if let (Some(k), Some((_, dp))) = (lb.pool, lb.pooled) {
                        let prm = pool::backward_params(k, c * rows, g.out_h(), g.out_w());
                        be.pool_backward(y, dp, dy, &prm);
                    }
                    let view = ActParams {
                        ld1: 1,
                        stride1: n,
                        ..channel_view(c, n as usize, act)
                    };
                    be.act_backward(dy, y, &view);
                    self.shortcut_backward(be, l, dy, rows);
                    if let Some(bn) = &lb.bn {
                        bn.backward(be, lb.out, dy, lb.dout, n as usize);
                    }
                    be.bias_grad(
                        lb.bias.g,
                        lb.dout,
                        &ActParams {
                            count: c as u32,
                            stride0: 1,
                            ..view
                        },
                    );
                    be.im2col(input, self.cols, &ops.im2col());
                    self.conv_grads(be, l, rows, din);
                    if let Some(din) = din {
                        self.add_skip_grads(be, l, din, rows);
                    }
                }
                Kind::Fc { fan_out, .. } => {
                    let fo = *fan_out as u32;
                    self.dfa_error(be, l, lb.dout, rows);
                    let d = self.fc_delta(l);
                    let view = ActParams {
                        rows: rows as u32,
                        cols: fo,
                        count: (self.instances * rows) as u32 * fo,
                        act,
                        ld0: d.ld,
                        off0: d.off,
                        stride0: d.stride,
                        ld1: fo,
                        off1: 0,
                        stride1: self.hyper.batch as u32 * fo,
                        _pad: [0; 2],
                    };
                    be.act_backward(d.buf, lb.out, &view);
                    let sums = ActParams {
                        count: self.instances as u32 * fo,
                        ld0: fo,
                        off0: 0,
                        stride0: fo,
                        ld1: d.ld,
                        off1: d.off,
                        stride1: d.stride,
                        ..view
                    };
                    be.bias_grad(lb.bias.g, d.buf, &sums);
                    let (src, dsrc) = match lb.flat {
                        Some((f, df)) => (f, Some(df)),
                        None => (input, din),
                    };
                    self.fc_grads(be, l, d, src, dsrc, din, rows);
                    if let Some(din) = din {
                        self.add_skip_grads(be, l, din, rows);
                    }
                }
            }
        }
    }
}
