//! The buffers of a conv layer of P instances (its weights, maps, batch normalisation and
//! residual shortcut), and the forward and backward steps of batch normalisation and
//! shortcuts that `net` sequences around each conv layer.
//!
//! A layer with BN keeps its conv output `z = W x + b` in `out` (what the weight products
//! read and whose gradient `dout` they consume) and its normalised, shortcut-added, activated
//! output in `post`. A layer closing a residual block adds the block input (the output of
//! layer `from`), or its projection `bn(P x + b_p)`, before the activation. In the backward
//! pass the shortcut's gradient is held until the block's first layer has written the block
//! input's gradient (col2im writes, not adds), then added to it.

use super::net::{Kind, LayerBufs, Net, Param, Weights};
use super::net_conv_instances::ConvOps;
use super::net_instances::concat;
use crate::backend::*;
use crate::nn::block::{BatchNorm, BN_EPS, BN_MOMENTUM};
use crate::nn::conv::{ConvGeom, Layout};
use crate::nn::model::{Conv, ConvWeights, Layer, Model, Shortcut};
use crate::nn::pool;

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
        let part = |be: &mut dyn Backend, buf: Buf| {
            let all = be.read(buf);
            let per = all.len() / q;
            all[i * per..(i + 1) * per].to_vec()
        };
        Shortcut {
            from: self.from,
            proj: self.proj.as_ref().map(|p| {
                Box::new(Conv {
                    c_in: p.geom.c_in,
                    c_out: p.geom.c_out,
                    k: p.geom.k,
                    stride: p.geom.stride,
                    pad: p.geom.pad,
                    weights: ConvWeights::Dense(part(be, p.w.w)),
                    bias: part(be, p.bias.w),
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

/// Conv layer `l` of `models` (one per instance, equal shapes) for batches of `b` images.
/// Grows the shared scratch sizes (per instance) `cols_len`, `out_len` and `maps_len`.
pub(super) fn upload(
    be: &mut dyn Backend,
    models: &[&Model],
    l: usize,
    b: usize,
    (cols_len, out_len, maps_len): (&mut usize, &mut usize, &mut usize),
) -> LayerBufs {
    let p = models.len();
    let convs: Vec<&Conv> = models
        .iter()
        .map(|m| match &m.layers[l] {
            Layer::Conv(v) => v,
            Layer::Fc(_) => unreachable!("upload of a conv layer"),
        })
        .collect();
    let v = convs[0];
    let model = models[0];
    let dims = model.dims();
    let geom = model.geom(l).unwrap();
    let n = b * geom.positions();
    *cols_len = (*cols_len).max(geom.fan_in() * n);
    *out_len = (*out_len).max(v.c_out * n);
    let skip = v.shortcut.as_ref().map(|sc| {
        let all: Vec<_> = convs
            .iter()
            .map(|c| c.shortcut.as_ref().expect("instances have equal shortcuts"))
            .collect();
        SkipBufs::new(be, &all, dims[sc.from + 1], b)
    });
    if let Some(pr) = skip.as_ref().and_then(|s| s.proj.as_ref()) {
        let pn = b * pr.geom.positions();
        *cols_len = (*cols_len).max(pr.geom.fan_in() * pn);
        *out_len = (*out_len).max(pr.geom.c_out * pn);
    }
    let bn = v.bn.as_ref().map(|_| {
        let all: Vec<_> = convs.iter().map(|c| c.bn.as_ref().unwrap()).collect();
        BnBufs::new(be, &all)
    });
    let len = p * v.c_out * n;
    let post = bn.is_some().then(|| (be.alloc(len), be.alloc(len)));
    let weights = match &v.weights {
        ConvWeights::Dense(_) => Weights::Dense(Param::new(
            be,
            &concat(models, |m| match &m.layers[l] {
                Layer::Conv(Conv {
                    weights: ConvWeights::Dense(w),
                    ..
                }) => w,
                _ => unreachable!("instances have equal layers"),
            }),
        )),
        ConvWeights::Penni(pw) => {
            *maps_len = (*maps_len).max(pw.d * v.c_in * n);
            Weights::penni(be, &convs, &geom)
        }
    };
    let pooled = v.pool.map(|k| {
        let (oh, ow) = pool::out_size(k, geom.out_h(), geom.out_w());
        let len = p * v.c_out * b * oh * ow;
        (be.alloc(len), be.alloc(len))
    });
    let bias = concat(models, |m| match &m.layers[l] {
        Layer::Conv(c) => &c.bias,
        Layer::Fc(_) => unreachable!("instances have equal layers"),
    });
    LayerBufs {
        kind: Kind::Conv {
            geom,
            layout: if l == 0 { Layout::Nchw } else { Layout::Cnhw },
        },
        pool: v.pool,
        weights,
        bias: Param::new(be, &bias),
        out: be.alloc(len),
        dout: be.alloc(len),
        pooled,
        flat: None,
        bn,
        post,
        skip,
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
