//! The buffers of a conv layer's batch normalisation and residual shortcut over P instances,
//! and batch normalisation's forward and backward steps (`step` and `shortcut`
//! sequence them around each conv layer).
//!
//! A layer with BN keeps its conv output `z = W x + b` in `out` (what the weight products
//! read and whose gradient `dout` they consume) and its normalised, shortcut-added, activated
//! output in `post`.

use super::instances::instance_part;
use super::param::Param;
use crate::backend::*;
use crate::nn::block::{BatchNorm, BN_EPS, BN_MOMENTUM};
use crate::nn::conv::ConvGeom;
use crate::nn::model::{Conv, ConvWeights, Shortcut};

/// BN of the P C channels of P instances (`[P][C]`): trainable gamma and beta (no weight
/// decay), running `[mean][var]` and the batch's saved `[mean][1/sqrt(var + eps)]`.
pub struct BnBufs {
    pub gamma: Param,
    pub beta: Param,
    pub running: Buf,
    pub save: Buf,
    /// Channels C of one instance.
    channels: usize,
}

impl BnBufs {
    /// One instance per batch norm in `bns` (equal channels).
    pub fn new(be: &mut dyn Backend, bns: &[&BatchNorm]) -> BnBufs {
        let cat = |f: fn(&BatchNorm) -> &[f32]| -> Vec<f32> {
            bns.iter().flat_map(|b| f(b).iter().copied()).collect()
        };
        let mut gamma = Param::new(be, &cat(|b| &b.gamma));
        let mut beta = Param::new(be, &cat(|b| &b.beta));
        gamma.decay = false;
        beta.decay = false;
        let running = be.alloc(2 * gamma.len);
        be.write(running, &[cat(|b| &b.mean), cat(|b| &b.var)].concat());
        BnBufs {
            save: be.alloc(2 * gamma.len),
            gamma,
            beta,
            running,
            channels: bns[0].channels(),
        }
    }

    /// Instance `i`'s batch norm.
    pub fn to_host(&self, be: &mut dyn Backend, i: usize) -> BatchNorm {
        let r = be.read(self.running);
        let (all, c) = (self.gamma.len, self.channels);
        let at = i * c..(i + 1) * c;
        BatchNorm {
            gamma: be.read(self.gamma.w)[at.clone()].to_vec(),
            beta: be.read(self.beta.w)[at.clone()].to_vec(),
            mean: r[at.clone()].to_vec(),
            var: r[all..][at].to_vec(),
        }
    }

    /// `y = bn(x)` over `[P C][n]`: batch statistics when training, running ones otherwise.
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

/// A dense 1x1 strided projection conv (with optional BN) on the shortcut, P instances.
pub struct ProjBufs {
    pub geom: ConvGeom,
    pub w: Param,
    pub bias: Param,
    pub bn: Option<BnBufs>,
    /// Conv output `[P][C_out][B OH OW]` and its gradient; the BN output.
    pub out: Buf,
    pub dout: Buf,
    pub normed: Buf,
    /// Gradient of the block input from this path `[P][C_in][B H W]`.
    pub din: Buf,
}

pub struct SkipBufs {
    /// The block input is the output of layer `from`.
    pub from: usize,
    pub proj: Option<ProjBufs>,
}

impl SkipBufs {
    /// Buffers for the shortcuts `scs` (one per instance, equal shapes) whose block input is
    /// `[c, h, w]` per image, for batches of `b`.
    pub fn new(
        be: &mut dyn Backend,
        scs: &[&Shortcut],
        [c, h, w]: [usize; 3],
        b: usize,
    ) -> SkipBufs {
        let sc = scs[0];
        let q = scs.len();
        let projs: Vec<&Conv> = scs.iter().filter_map(|s| s.proj.as_deref()).collect();
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
            let n = q * p.c_out * b * geom.positions();
            let dense = |c: &&Conv| match &c.weights {
                ConvWeights::Dense(w) => w.clone(),
                ConvWeights::Penni(_) => {
                    unreachable!("projections stay dense (validated on upload)")
                }
            };
            let weights: Vec<f32> = projs.iter().flat_map(dense).collect();
            let bias: Vec<f32> = projs.iter().flat_map(|c| c.bias.clone()).collect();
            let bns: Option<Vec<&BatchNorm>> = projs.iter().map(|c| c.bn.as_ref()).collect();
            ProjBufs {
                geom,
                w: Param::new(be, &weights),
                bias: Param::new(be, &bias),
                bn: bns.map(|bns| BnBufs::new(be, &bns)),
                out: be.alloc(n),
                dout: be.alloc(n),
                normed: be.alloc(n),
                din: be.alloc(q * c * b * h * w),
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

    /// Instance `i`'s shortcut (of `q` instances).
    pub fn to_host(&self, be: &mut dyn Backend, i: usize, q: usize) -> Shortcut {
        Shortcut {
            from: self.from,
            proj: self.proj.as_ref().map(|p| {
                Box::new(Conv {
                    c_in: p.geom.c_in,
                    c_out: p.geom.c_out,
                    k: p.geom.k,
                    stride: p.geom.stride,
                    pad: p.geom.pad,
                    weights: ConvWeights::Dense(instance_part(be, p.w.w, i, q)),
                    bias: instance_part(be, p.bias.w, i, q),
                    pool: None,
                    bn: p.bn.as_ref().map(|bn| bn.to_host(be, i)),
                    shortcut: None,
                })
            }),
        }
    }
}

/// One bias (or activation) view over channel-major maps `[c][n]` (c: every instance's).
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
