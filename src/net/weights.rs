//! The SGD step over a network's trainable tensors (L1 and masks applied), and the weights
//! read back as a [`Model`] (crossbar layers decoded to their nominal weights).

use super::instances::instance_part;
use super::network::{Kind, LayerBufs, Net, Weights};
use super::param::Param;
use crate::backend::xbar::XbarId;
use crate::backend::*;
use crate::nn::model::{Conv, ConvWeights, Fc, Layer, Model, Penni};

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

    /// Instance 0's weights as they are on the backend now.
    pub fn to_model(&self, be: &mut dyn Backend) -> Model {
        self.to_model_at(be, 0)
    }

    /// Instance `i`'s weights as they are on the backend now.
    pub fn to_model_at(&self, be: &mut dyn Backend, i: usize) -> Model {
        let p = self.instances;
        let part = |be: &mut dyn Backend, buf: Buf| instance_part(be, buf, i, p);
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
                            Weights::Xbar { id, .. } => ConvWeights::Dense(decode(be, *id, i)),
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
                            Weights::Xbar { id, .. } => decode(be, *id, i),
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

/// The nominal weights `[out][in]` of instance `inst` stored on crossbar layer `id`.
fn decode(be: &mut dyn Backend, id: XbarId, inst: usize) -> Vec<f32> {
    be.xbar_cells(id)[inst].decode_weights()
}
