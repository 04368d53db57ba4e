//! A network's buffers on one backend (any layer graph: FC-only perceptrons and conv nets) and
//! the kernels of a training step: forward (im2col + GEMM per conv, pooling, flatten, FC),
//! loss, backward (col2im for the input gradient), gradients and SGD. Conv maps are channel-major (CNHW) so that one GEMM
//! covers the batch. PENNI layers train as `W = C V` (the dense kernel is rebuilt each step
//! and its gradient split into basis and coefficient gradients) and infer in the two-step form
//! (per-channel basis convolution, then the 1x1 coefficient convolution).

use super::net_dfa::NetDfa;
use super::net_insitu::NetXbar;
pub use super::net_weights::{Param, Weights};
use crate::backend::*;
use crate::nn::arch::PoolKind;
use crate::nn::conv::{ConvGeom, Layout};
use crate::nn::model::{Conv, ConvWeights, Layer, Model};
use crate::nn::pool;

use super::net_block::{channel_view, BnBufs, SkipBufs};
use super::net_instances::fc_concat;
pub(super) use super::net_instances::permute;
pub use super::net_instances::Hyper;

pub enum Kind {
    Conv {
        geom: ConvGeom,
        layout: Layout,
    },
    /// `from_conv`: (channels, pixels) of the conv maps flattened into this layer's input.
    Fc {
        fan_in: usize,
        fan_out: usize,
        from_conv: Option<(usize, usize)>,
    },
}

pub struct LayerBufs {
    pub kind: Kind,
    pub pool: Option<PoolKind>,
    pub weights: Weights,
    pub bias: Param,
    /// Post-activation output (conv `[P][C_out][B OH OW]`, FC `[P][B][N]`) and its gradient.
    pub out: Buf,
    pub dout: Buf,
    /// Pooled maps and their gradient.
    pub pooled: Option<(Buf, Buf)>,
    /// FC after conv: flattened input `[P][B][C H W]` (dense for the batch's rows) and its
    /// gradient.
    pub flat: Option<(Buf, Buf)>,
    /// Batch norm of the conv output, and then the activated maps and their gradient (`out`
    /// keeps the conv output the weight products read).
    pub bn: Option<BnBufs>,
    pub post: Option<(Buf, Buf)>,
    /// The residual shortcut this layer closes.
    pub skip: Option<SkipBufs>,
}

pub struct Net {
    pub hyper: Hyper,
    /// Population instances P held in every buffer (`[P][...]`, each instance its own
    /// weights, learning rate and crossbar cells), every kernel running all P in one dispatch.
    pub instances: usize,
    pub input: [usize; 3],
    pub layers: Vec<LayerBufs>,
    /// Batch images `[B][C H W]` and labels.
    pub x: Buf,
    pub y: Buf,
    pub stats: Buf,
    pub acc: Buf,
    pub lr: Buf,
    /// Unrolled inputs (and their gradient, in turn), sized for the largest layer.
    pub(super) cols: Buf,
    pub(super) cols_t: Buf,
    pub(super) dout_t: Buf,
    /// Basis maps of PENNI layers in inference form `[P][C_in d][B OH OW]`, and as the basis
    /// GEMM writes them `[P][d C_in][B OH OW]`.
    pub(super) maps: Buf,
    pub(super) maps_t: Buf,
    /// Run PENNI layers in the two-step inference form instead of rebuilding the kernel.
    pub inference_form: bool,
    /// Crossbar state of in-situ training (read and step counters).
    pub xbar: Option<NetXbar>,
    /// DFA feedback matrices and scope.
    pub dfa: Option<NetDfa>,
    /// Training mode (batch norm uses and updates batch statistics) or evaluation mode
    /// (running statistics).
    pub training: bool,
    /// Zero biases for activation-only passes, sized for the widest layer.
    pub(super) zeros: Buf,
    /// The first layer trained: 0, or the last layer alone (`train.last_layer_only`).
    pub trained_from: usize,
}

impl Net {
    /// Uploads `model` for batches of up to `hyper.batch` images.
    pub fn new(be: &mut dyn Backend, model: &Model, hyper: Hyper) -> anyhow::Result<Net> {
        Self::with_instances(be, &[model], hyper)
    }

    /// [`Net::new`] holding one instance per model (equal shapes, `stackable`).
    pub fn with_instances(
        be: &mut dyn Backend,
        models: &[&Model],
        hyper: Hyper,
    ) -> anyhow::Result<Net> {
        let model = models[0];
        let p = models.len();
        super::net_instances::check_instances(models)?;
        model.validate()?;
        for (l, layer) in model.layers.iter().enumerate() {
            if let Layer::Conv(Conv {
                shortcut: Some(sc), ..
            }) = layer
            {
                anyhow::ensure!(
                    sc.proj
                        .as_ref()
                        .is_none_or(|p| matches!(p.weights, ConvWeights::Dense(_))),
                    "layer {l}: a shortcut projection must be dense"
                );
            }
        }
        anyhow::ensure!(
            matches!(model.layers.last(), Some(Layer::Fc(_))),
            "the network must end with a fully connected layer (e.g. ...-FC10)"
        );
        let b = hyper.batch;
        let dims = model.dims();
        // Scratch sizes per instance.
        let mut cols_len = 1;
        let mut maps_len = 1;
        let mut out_len = 1;
        let mut widest = 1;
        let mut layers = Vec::new();
        for (l, layer) in model.layers.iter().enumerate() {
            let [c, h, w] = dims[l];
            let lb = match layer {
                Layer::Conv(v) => {
                    widest = widest.max(v.c_out);
                    let scratch = (&mut cols_len, &mut out_len, &mut maps_len);
                    super::net_block::upload(be, models, l, b, scratch)
                }
                Layer::Fc(f) => {
                    let from_conv = (l > 0 && matches!(model.layers[l - 1], Layer::Conv(_)))
                        .then_some((c, h * w));
                    LayerBufs {
                        kind: Kind::Fc {
                            fan_in: f.fan_in,
                            fan_out: f.fan_out,
                            from_conv,
                        },
                        pool: None,
                        weights: Weights::Dense(Param::new(be, &fc_concat(models, l, true))),
                        bias: Param::new(be, &fc_concat(models, l, false)),
                        out: be.alloc(p * b * f.fan_out),
                        dout: be.alloc(p * b * f.fan_out),
                        pooled: None,
                        flat: from_conv.map(|_| {
                            let len = p * b * f.fan_in;
                            (be.alloc(len), be.alloc(len))
                        }),
                        bn: None,
                        post: None,
                        skip: None,
                    }
                }
            };
            layers.push(lb);
        }
        let features: usize = model.input.iter().product();
        let lr = be.alloc(p);
        be.write(lr, &vec![hyper.lr; p]);
        let (x, y) = (be.alloc(b * features), be.alloc_u32(b));
        Ok(Net {
            hyper,
            instances: p,
            input: model.input,
            layers,
            x,
            y,
            stats: be.alloc(2 * p * b),
            acc: be.alloc(4 * p),
            lr,
            cols: be.alloc(p * cols_len),
            cols_t: be.alloc(p * cols_len),
            dout_t: be.alloc(p * out_len),
            maps: be.alloc(p * maps_len),
            maps_t: be.alloc(p * maps_len),
            inference_form: false,
            xbar: None,
            dfa: None,
            training: true,
            zeros: be.alloc(p * widest),
            trained_from: 0,
        })
    }

    /// Sets every instance's learning rate to `lr`.
    pub fn set_lr(&mut self, be: &mut dyn Backend, lr: f32) {
        self.set_lrs(be, &vec![lr; self.instances]);
    }

    /// Sets instance i's learning rate to `lrs[i]` (`hyper.lr` keeps instance 0's).
    pub fn set_lrs(&mut self, be: &mut dyn Backend, lrs: &[f32]) {
        self.hyper.lr = lrs[0];
        be.write(self.lr, lrs);
    }

    pub(super) fn act(&self, l: usize) -> u32 {
        if l + 1 == self.layers.len() {
            Activation::Identity as u32
        } else {
            self.hyper.activation as u32
        }
    }

    /// The input of layer `l` and where its gradient goes (None for the images).
    pub(super) fn input_of(&self, l: usize) -> (Buf, Option<Buf>) {
        if l == 0 {
            (self.x, None)
        } else {
            let (o, d) = self.layers[l - 1].output();
            (o, Some(d))
        }
    }

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
        let last = self.layers.last().unwrap();
        let Kind::Fc { fan_out, .. } = last.kind else {
            unreachable!("checked in new")
        };
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
    /// net has feedback matrices (`net_dfa`).
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
                        rows: n,
                        cols: 1,
                        count: c as u32 * n,
                        act,
                        ld0: 1,
                        off0: 0,
                        stride0: n,
                        ld1: 1,
                        off1: 0,
                        stride1: n,
                        _pad: [0; 2],
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
