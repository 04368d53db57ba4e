//! A network's trainable tensors: the `Param` (values, gradient, momentum, mask), the
//! forms a layer's weights take (dense, PENNI, on crossbars), the SGD step over all of them,
//! and the weights read back as a [`Model`].

use super::net::{Kind, LayerBufs, Net};
use super::net_penni_xbar::PenniXbar;
use crate::backend::xbar::XbarId;
use crate::backend::*;
use crate::nn::conv::ConvGeom;
use crate::nn::model::{Conv, ConvWeights, Fc, Layer, Model, Penni};

/// A trainable tensor: values, gradient, momentum, optional 0/1 mask, L1 strength, and
/// whether weight decay applies (not to batch norm's gamma and beta).
pub struct Param {
    pub w: Buf,
    pub g: Buf,
    pub v: Buf,
    pub len: usize,
    pub mask: Option<Buf>,
    pub trainable: bool,
    pub l1: f32,
    pub decay: bool,
}

impl Param {
    pub(super) fn new(be: &mut dyn Backend, values: &[f32]) -> Param {
        let w = be.alloc(values.len());
        be.write(w, values);
        Param {
            w,
            g: be.alloc(values.len()),
            v: be.alloc(values.len()),
            len: values.len(),
            mask: None,
            trainable: true,
            l1: 0.0,
            decay: true,
        }
    }

    fn sparse(&self) -> SparseParams {
        SparseParams {
            count: self.len as u32,
            _pad: [0; 2],
            lambda: self.l1,
        }
    }
}

pub enum Weights {
    Dense(Param),
    /// Bases `[P][d][k k]`, coefficients `[P][C_out][C_in][d]`, and scratch for the rebuilt
    /// kernel and its gradient `[P][C_out][C_in k k]`.
    Penni {
        d: usize,
        basis: Param,
        coef: Param,
        w: Buf,
        gw: Buf,
    },
    /// Conductances on a crossbar layer (`[C_out][C_in k k]` or `[fan_out][fan_in]`);
    /// `grad.w` is zeros, `grad.g`/`grad.v` the digital gradient and momentum that
    /// `net_insitu` programs into the cells. `signed`: the layer's inputs can be negative.
    Xbar {
        id: XbarId,
        signed: bool,
        grad: Param,
    },
    /// A PENNI layer on crossbars, inference only (`net_penni_xbar`).
    PenniXbar(Box<PenniXbar>),
}

impl Weights {
    /// The PENNI weights of one conv layer of geometry `g` in every instance (`convs`, equal
    /// shapes and `d`): bases `[P][d][k k]`, coefficients `[P][C_out C_in][d]`, and the
    /// rebuilt kernel and its gradient `[P][C_out][C_in k k]`.
    pub(super) fn penni(be: &mut dyn Backend, convs: &[&Conv], g: &ConvGeom) -> Weights {
        let parts: Vec<&Penni> = convs
            .iter()
            .map(|c| match &c.weights {
                ConvWeights::Penni(p) => p,
                ConvWeights::Dense(_) => unreachable!("instances have equal layers"),
            })
            .collect();
        let basis: Vec<f32> = parts.iter().flat_map(|p| p.basis.iter().copied()).collect();
        let coef: Vec<f32> = parts.iter().flat_map(|p| p.coef.iter().copied()).collect();
        let kernel = parts.len() * g.c_out * g.fan_in();
        Weights::Penni {
            d: parts[0].d,
            basis: Param::new(be, &basis),
            coef: Param::new(be, &coef),
            w: be.alloc(kernel),
            gw: be.alloc(kernel),
        }
    }
}

impl LayerBufs {
    /// What the next layer reads, and where its input gradient goes.
    pub(super) fn output(&self) -> (Buf, Buf) {
        self.pooled.unwrap_or((self.act_buf(), self.act_grad()))
    }

    /// The activated (pre-pool) output.
    pub(super) fn act_buf(&self) -> Buf {
        self.post.map_or(self.out, |p| p.0)
    }

    /// The gradient of the activated output (after `act_backward`: of its argument).
    pub(super) fn act_grad(&self) -> Buf {
        self.post.map_or(self.dout, |p| p.1)
    }

    /// Values in one instance's (pre-pool) output for `rows` images.
    pub(super) fn out_len(&self, rows: usize) -> usize {
        match &self.kind {
            Kind::Conv { geom, .. } => geom.c_out * rows * geom.positions(),
            Kind::Fc { fan_out, .. } => fan_out * rows,
        }
    }
}

impl LayerBufs {
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut v: Vec<&mut Param> = match &mut self.weights {
            Weights::Dense(p) => vec![p],
            Weights::Penni { basis, coef, .. } => vec![basis, coef],
            Weights::Xbar { grad, .. } => vec![grad],
            Weights::PenniXbar(_) => vec![],
        };
        v.push(&mut self.bias);
        if let Some(bn) = &mut self.bn {
            v.extend([&mut bn.gamma, &mut bn.beta]);
        }
        if let Some(skip) = &mut self.skip {
            v.extend(skip.params_mut());
        }
        v
    }
}

impl Net {
    /// One SGD step on every trainable tensor of the trained layers (L1 and masks applied).
    pub fn update(&mut self, be: &mut dyn Backend) {
        let (lr, momentum, wd) = (self.lr, self.hyper.momentum, self.hyper.weight_decay);
        let instances = self.instances;
        for lb in &mut self.layers[self.trained_from..] {
            for p in lb.params_mut() {
                if !p.trainable {
                    continue;
                }
                let sp = p.sparse();
                if p.l1 > 0.0 {
                    be.l1_grad(p.g, p.w, &sp);
                }
                if let Some(m) = p.mask {
                    be.mask(p.g, m, &sp);
                }
                be.sgd(
                    p.w,
                    p.v,
                    p.g,
                    lr,
                    &SgdParams {
                        n: (p.len / instances) as u32,
                        count: p.len as u32,
                        off: 0,
                        nesterov: self.hyper.nesterov as u32,
                        momentum,
                        weight_decay: if p.decay { wd } else { 0.0 },
                        _pad1: [0.0; 2],
                    },
                );
                if let Some(m) = p.mask {
                    be.mask(p.w, m, &sp);
                }
            }
        }
    }

    /// Zeroes every momentum buffer (a new training phase starts from rest).
    pub fn reset_momentum(&mut self, be: &mut dyn Backend) {
        for lb in &mut self.layers {
            for p in lb.params_mut() {
                be.fill(
                    p.v,
                    &FillParams {
                        off: 0,
                        count: p.len as u32,
                        value: 0.0,
                        _pad: 0,
                    },
                );
            }
        }
    }

    /// Instance 0's weights as they are on the backend now.
    pub fn to_model(&self, be: &mut dyn Backend) -> Model {
        self.to_model_at(be, 0)
    }

    /// Instance `i`'s weights as they are on the backend now.
    pub fn to_model_at(&self, be: &mut dyn Backend, i: usize) -> Model {
        let p = self.instances;
        let part = |be: &mut dyn Backend, buf: Buf| {
            let all = be.read(buf);
            let per = all.len() / p;
            all[i * per..(i + 1) * per].to_vec()
        };
        let layers = self
            .layers
            .iter()
            .map(|lb| {
                let bias = part(be, lb.bias.w);
                match &lb.kind {
                    Kind::Conv { geom, .. } => Layer::Conv(Conv {
                        c_in: geom.c_in,
                        c_out: geom.c_out,
                        k: geom.k,
                        stride: geom.stride,
                        pad: geom.pad,
                        weights: match &lb.weights {
                            Weights::Dense(w) => ConvWeights::Dense(part(be, w.w)),
                            Weights::Penni { d, basis, coef, .. } => ConvWeights::Penni(Penni {
                                d: *d,
                                basis: part(be, basis.w),
                                coef: part(be, coef.w),
                            }),
                            Weights::Xbar { id, .. } => {
                                ConvWeights::Dense(super::net_insitu::decode(be, *id, i))
                            }
                            Weights::PenniXbar(px) => ConvWeights::Penni(px.decode(be, geom)),
                        },
                        bias,
                        pool: lb.pool,
                        bn: lb.bn.as_ref().map(|bn| bn.to_host(be, i)),
                        shortcut: lb.skip.as_ref().map(|s| s.to_host(be, i, p)),
                    }),
                    Kind::Fc {
                        fan_in, fan_out, ..
                    } => Layer::Fc(Fc {
                        fan_in: *fan_in,
                        fan_out: *fan_out,
                        weight: match &lb.weights {
                            Weights::Dense(w) => part(be, w.w),
                            Weights::Xbar { id, .. } => super::net_insitu::decode(be, *id, i),
                            Weights::Penni { .. } | Weights::PenniXbar(_) => {
                                unreachable!("fully connected layers are dense")
                            }
                        },
                        bias,
                    }),
                }
            })
            .collect();
        Model {
            input: self.input,
            layers,
        }
    }
}
