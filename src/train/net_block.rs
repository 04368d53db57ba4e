//! Batch normalisation and residual shortcuts of a conv network on a backend: their buffers,
//! and the forward and backward steps `net` sequences around each conv layer.
//!
//! A layer with BN keeps its conv output `z = W x + b` in `out` (what the weight products
//! read and whose gradient `dout` they consume) and its normalised, shortcut-added, activated
//! output in `post`. A layer closing a residual block adds the block input (the output of
//! layer `from`), or its projection `bn(P x + b_p)`, before the activation. In the backward
//! pass the shortcut's gradient is held until the block's first layer has written the block
//! input's gradient (col2im writes, not adds), then added to it.

use super::net::{Net, Param};
use crate::backend::*;
use crate::nn::block::{BatchNorm, BN_EPS, BN_MOMENTUM};
use crate::nn::conv::{ConvGeom, Layout};
use crate::nn::model::{Conv, ConvWeights, Shortcut};

/// BN of `c` channels: trainable gamma and beta (no weight decay), running `[mean][var]`
/// and the batch's saved `[mean][1/sqrt(var + eps)]`.
pub struct BnBufs {
    pub gamma: Param,
    pub beta: Param,
    pub running: Buf,
    pub save: Buf,
}

impl BnBufs {
    pub fn new(be: &mut dyn Backend, bn: &BatchNorm) -> BnBufs {
        let mut gamma = Param::new(be, &bn.gamma);
        let mut beta = Param::new(be, &bn.beta);
        gamma.decay = false;
        beta.decay = false;
        let running = be.alloc(2 * bn.channels());
        be.write(running, &[bn.mean.as_slice(), &bn.var].concat());
        BnBufs {
            gamma,
            beta,
            running,
            save: be.alloc(2 * bn.channels()),
        }
    }

    pub fn to_host(&self, be: &mut dyn Backend) -> BatchNorm {
        let r = be.read(self.running);
        let c = self.gamma.len;
        BatchNorm {
            gamma: be.read(self.gamma.w),
            beta: be.read(self.beta.w),
            mean: r[..c].to_vec(),
            var: r[c..2 * c].to_vec(),
        }
    }

    /// `y = bn(x)` over `[c][n]`: batch statistics when training, running ones otherwise.
    pub fn forward(&self, be: &mut dyn Backend, x: Buf, y: Buf, n: usize, training: bool) {
        let p = BnParams::new(self.gamma.len, n, BN_EPS, BN_MOMENTUM);
        let (g, b) = (self.gamma.w, self.beta.w);
        if training {
            be.bn_train(x, g, b, y, self.save, self.running, &p);
        } else {
            be.bn_infer(x, g, b, self.running, y, &p);
        }
    }

    /// `dx` from `dy`; gamma's and beta's gradients.
    pub fn backward(&self, be: &mut dyn Backend, x: Buf, dy: Buf, dx: Buf, n: usize) {
        let p = BnParams::new(self.gamma.len, n, BN_EPS, BN_MOMENTUM);
        be.bn_backward(
            x,
            dy,
            self.gamma.w,
            self.save,
            dx,
            self.gamma.g,
            self.beta.g,
            &p,
        );
    }
}

/// A dense 1x1 strided projection conv (with optional BN) on the shortcut.
pub struct ProjBufs {
    pub geom: ConvGeom,
    pub w: Param,
    pub bias: Param,
    pub bn: Option<BnBufs>,
    /// Conv output `[C_out][B P]` and its gradient; the BN output.
    pub out: Buf,
    pub dout: Buf,
    pub normed: Buf,
    /// Gradient of the block input from this path `[C_in][B H W]`.
    pub din: Buf,
}

pub struct SkipBufs {
    /// The block input is the output of layer `from`.
    pub from: usize,
    pub proj: Option<ProjBufs>,
}

impl SkipBufs {
    /// Buffers for `sc` whose block input is `[c, h, w]` per image, for batches of `b`.
    pub fn new(be: &mut dyn Backend, sc: &Shortcut, [c, h, w]: [usize; 3], b: usize) -> SkipBufs {
        let proj = sc.proj.as_ref().map(|p| {
            let geom = ConvGeom {
                c_in: c,
                h,
                w,
                c_out: p.c_out,
                k: p.k,
                stride: p.stride,
                pad: p.pad,
            };
            let n = p.c_out * b * geom.positions();
            let ConvWeights::Dense(wv) = &p.weights else {
                unreachable!("projections stay dense (validated on upload)")
            };
            ProjBufs {
                geom,
                w: Param::new(be, wv),
                bias: Param::new(be, &p.bias),
                bn: p.bn.as_ref().map(|bn| BnBufs::new(be, bn)),
                out: be.alloc(n),
                dout: be.alloc(n),
                normed: be.alloc(n),
                din: be.alloc(c * b * h * w),
            }
        });
        SkipBufs {
            from: sc.from,
            proj,
        }
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match &mut self.proj {
            None => vec![],
            Some(p) => {
                let mut v = vec![&mut p.w, &mut p.bias];
                if let Some(bn) = &mut p.bn {
                    v.extend([&mut bn.gamma, &mut bn.beta]);
                }
                v
            }
        }
    }

    pub fn to_host(&self, be: &mut dyn Backend) -> Shortcut {
        Shortcut {
            from: self.from,
            proj: self.proj.as_ref().map(|p| {
                Box::new(Conv {
                    c_in: p.geom.c_in,
                    c_out: p.geom.c_out,
                    k: p.geom.k,
                    stride: p.geom.stride,
                    pad: p.geom.pad,
                    weights: ConvWeights::Dense(be.read(p.w.w)),
                    bias: be.read(p.bias.w),
                    pool: None,
                    bn: p.bn.as_ref().map(|bn| bn.to_host(be)),
                    shortcut: None,
                })
            }),
        }
    }
}

/// One bias (or activation) view over channel-major maps `[c][n]`.
pub(super) fn channel_view(c: usize, n: usize, act: u32) -> ActParams {
    let n = n as u32;
    ActParams {
        rows: n,
        cols: 1,
        count: c as u32 * n,
        act,
        ld0: 1,
        off0: 0,
        stride0: n,
        ld1: 0,
        off1: 0,
        stride1: 1,
        _pad: [0; 2],
    }
}

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
    /// The shortcut of layer `l` added onto `pre` (its BN output, `[C_out][B P]`).
    pub(super) fn shortcut_forward(&self, be: &mut dyn Backend, l: usize, pre: Buf, rows: usize) {
        let lb = &self.layers[l];
        let Some(skip) = &lb.skip else { return };
        let block_in = self.layers[skip.from].output().0;
        match &skip.proj {
            None => add(be, pre, block_in, lb.out_len(rows)),
            Some(p) => {
                let g = p.geom;
                let n = rows * g.positions();
                be.im2col(block_in, self.cols, &g.im2col(rows, Layout::Cnhw));
                be.gemm(p.w.w, self.cols, p.out, &g.forward_gemm(rows));
                be.bias_act(p.out, p.bias.w, &channel_view(g.c_out, n, 0));
                let y = match &p.bn {
                    Some(bn) => {
                        bn.forward(be, p.out, p.normed, n, self.training);
                        p.normed
                    }
                    None => p.out,
                };
                add(be, pre, y, g.c_out * n);
            }
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
        let g = p.geom;
        let n = rows * g.positions();
        let dz = match &p.bn {
            Some(bn) => {
                bn.backward(be, p.out, dy, p.dout, n);
                p.dout
            }
            None => dy,
        };
        let view = channel_view(g.c_out, n, 0);
        be.bias_grad(
            p.bias.g,
            dz,
            &ActParams {
                count: g.c_out as u32,
                stride0: 1,
                ld1: 1,
                stride1: n as u32,
                ..view
            },
        );
        let block_in = self.layers[*from].output().0;
        be.im2col(block_in, self.cols, &g.im2col(rows, Layout::Cnhw));
        be.permute(self.cols, self.cols_t, &g.cols_transpose(rows));
        be.gemm(dz, self.cols_t, p.w.g, &g.weight_grad_gemm(rows));
        be.permute(dz, self.dout_t, &g.error_transpose(rows));
        be.gemm(self.dout_t, p.w.w, self.cols_t, &g.input_grad_gemm(rows));
        be.permute(self.cols_t, self.cols, &g.cols_untranspose(rows));
        be.col2im(self.cols, p.din, &g.col2im(rows, Layout::Cnhw));
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
                None => add(be, din, lb.act_grad(), lb.out_len(rows)),
                Some(p) => {
                    let g = p.geom;
                    add(be, din, p.din, g.c_in * rows * g.h * g.w)
                }
            }
        }
    }
}
