//! A convolutional network on the host: its layers and weights, built from a layer list.
//! Training moves it onto a backend (`net`); compression (`compress`) rewrites it;
//! `model_io` saves it. Checks (`nn::check`), counts (`nn::counts`), the chip's view
//! (`nn::chip_layers`) and BN folding (`nn::fold`) live beside it.

use crate::config::Init;
use crate::nn::arch::{self, LayerShape, LayerSpec, PoolKind};
pub use crate::nn::block::BatchNorm;
use crate::nn::conv::ConvGeom;
use crate::nn::pool;

/// PENNI form of a k x k conv: `W[o][i] = sum_b coef[o][i][b] basis[b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Penni {
    /// Basis kernels in use.
    pub d: usize,
    /// `[d][k k]`.
    pub basis: Vec<f32>,
    /// `[C_out][C_in][d]`: input channel i pairs with basis b at column `i d + b`.
    pub coef: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConvWeights {
    /// `[C_out][C_in][k][k]`.
    Dense(Vec<f32>),
    Penni(Penni),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub c_in: usize,
    pub c_out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub weights: ConvWeights,
    pub bias: Vec<f32>,
    pub pool: Option<PoolKind>,
    /// Batch normalisation before the activation.
    pub bn: Option<BatchNorm>,
    /// The residual shortcut this layer adds before its activation (it closes a block).
    pub shortcut: Option<Shortcut>,
}

impl Conv {
    /// The dense kernel `[C_out][C_in k k]` (reconstructed from the PENNI form).
    pub fn dense(&self) -> Vec<f32> {
        match &self.weights {
            ConvWeights::Dense(w) => w.clone(),
            ConvWeights::Penni(p) => {
                let kk = self.k * self.k;
                let mut w = vec![0f32; self.c_out * self.c_in * kk];
                for (row, out) in w.chunks_mut(kk).enumerate() {
                    for b in 0..p.d {
                        let c = p.coef[row * p.d + b];
                        if c != 0.0 {
                            for (o, v) in out.iter_mut().zip(&p.basis[b * kk..(b + 1) * kk]) {
                                *o += c * v;
                            }
                        }
                    }
                }
                w
            }
        }
    }
}

/// The shortcut of a layer that closes a residual block: the output of layer `from` (the block
/// input), through `proj` (a 1x1 strided conv, usually with BN) where shapes differ, is added
/// to this layer's (batch-normalised) output before its activation.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortcut {
    pub from: usize,
    pub proj: Option<Box<Conv>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fc {
    pub fan_in: usize,
    pub fan_out: usize,
    /// `[fan_out][fan_in]`; a flattened conv input is ordered (channel, y, x).
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    Conv(Conv),
    Fc(Fc),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// `[C, H, W]` of one input image.
    pub input: [usize; 3],
    pub layers: Vec<Layer>,
}

impl Model {
    /// A freshly initialised model for the layer list `arch` on `input` with `classes` outputs.
    pub fn init(
        arch_text: &str,
        input: [usize; 3],
        classes: usize,
        init: Init,
        seed: u64,
    ) -> anyhow::Result<Model> {
        let specs = arch::parse(arch_text)?;
        let shapes = arch::shapes(&specs, input)?;
        let last = shapes.last().expect("shapes has a weight layer");
        anyhow::ensure!(
            last.fan_out == classes,
            "network.arch {arch_text:?} ends with {} outputs but the data has {classes} classes",
            last.fan_out
        );
        // Shapes come in spec order: a residual block is its first conv, its projection (if
        // any), then its closing conv. A weight layer's init stream is its index in `shapes`.
        let mut next = 0;
        let mut take = |bn: bool| {
            let s = &shapes[next];
            let w = crate::nn::init::weights(init, s.fan_in, s.fan_out, seed, next as u32);
            next += 1;
            (s.clone(), w, bn.then(|| BatchNorm::new(s.c_out)))
        };
        let conv = |(s, w, bn): (LayerShape, Vec<f32>, Option<BatchNorm>)| Conv {
            c_in: s.c_in,
            c_out: s.c_out,
            k: s.k,
            stride: s.stride,
            pad: s.padding,
            weights: ConvWeights::Dense(w),
            bias: vec![0.0; s.c_out],
            pool: s.pool,
            bn,
            shortcut: None,
        };
        let mut layers = Vec::new();
        for spec in specs {
            match spec {
                LayerSpec::Conv { bn, .. } => layers.push(Layer::Conv(conv(take(bn)))),
                LayerSpec::Fc { .. } => {
                    let (s, w, _) = take(false);
                    layers.push(Layer::Fc(Fc {
                        fan_in: s.fan_in,
                        fan_out: s.fan_out,
                        weight: w,
                        bias: vec![0.0; s.fan_out],
                    }));
                }
                LayerSpec::Res { out, stride } => {
                    let from = layers.len() - 1;
                    let c_in = match &layers[from] {
                        Layer::Conv(c) => c.c_out,
                        Layer::Fc(f) => f.fan_out,
                    };
                    layers.push(Layer::Conv(conv(take(true))));
                    let proj = (stride != 1 || c_in != out).then(|| Box::new(conv(take(true))));
                    let mut b = conv(take(true));
                    b.shortcut = Some(Shortcut { from, proj });
                    layers.push(Layer::Conv(b));
                }
                LayerSpec::Pool(_) => {}
            }
        }
        Ok(Model { input, layers })
    }

    /// `[C, H, W]` entering every layer, and after the last.
    pub fn dims(&self) -> Vec<[usize; 3]> {
        let mut d = vec![self.input];
        for layer in &self.layers {
            let [_, h, w] = *d.last().unwrap();
            d.push(match layer {
                Layer::Conv(c) => {
                    let g = self.geom_of(c, h, w);
                    let (oh, ow) = match c.pool {
                        Some(p) => pool::out_size(p, g.out_h(), g.out_w()),
                        None => (g.out_h(), g.out_w()),
                    };
                    [c.c_out, oh, ow]
                }
                Layer::Fc(f) => [f.fan_out, 1, 1],
            });
        }
        d
    }

    pub(super) fn geom_of(&self, c: &Conv, h: usize, w: usize) -> ConvGeom {
        ConvGeom {
            c_in: c.c_in,
            h,
            w,
            c_out: c.c_out,
            k: c.k,
            stride: c.stride,
            pad: c.pad,
        }
    }

    /// Geometry of conv layer `l` (None for FC).
    pub fn geom(&self, l: usize) -> Option<ConvGeom> {
        let [_, h, w] = self.dims()[l];
        match &self.layers[l] {
            Layer::Conv(c) => Some(self.geom_of(c, h, w)),
            Layer::Fc(_) => None,
        }
    }

    pub fn classes(&self) -> usize {
        self.dims().last().unwrap()[0]
    }
}
