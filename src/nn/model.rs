//! A convolutional network on the host: layers, weights, shapes and counts. Training moves it
//! onto a backend (`train::cnn_net`); compression (`compress`) rewrites it; `model_io` saves it.

use crate::config::Init;
use crate::nn::arch::{self, LayerKind, LayerShape, LayerSpec, PoolKind};
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

/// Per-layer counts of a model, for stage tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Counts {
    /// Every stored value (weights, bases, coefficients, biases).
    pub params: usize,
    /// Stored values that are not zero.
    pub nonzero_params: usize,
    /// Coefficients of PENNI layers (all, and non-zero).
    pub coefficients: usize,
    pub nonzero_coefficients: usize,
    /// Multiply-accumulates per image: dense conv H W C_in C_out k^2, PENNI conv
    /// H W C_in d k^2 + nnz(C) H W, FC fan_in fan_out.
    pub macs: usize,
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
        let mut layers = Vec::new();
        let mut weight_layer = 0;
        for spec in specs {
            match spec {
                LayerSpec::Conv { .. } | LayerSpec::Fc { .. } => {
                    let s = &shapes[weight_layer];
                    let w = crate::train::init::weights(
                        init,
                        s.fan_in,
                        s.fan_out,
                        seed,
                        weight_layer as u32,
                    );
                    layers.push(match s.kind {
                        LayerKind::Conv => Layer::Conv(Conv {
                            c_in: s.c_in,
                            c_out: s.c_out,
                            k: s.k,
                            stride: s.stride,
                            pad: s.padding,
                            weights: ConvWeights::Dense(w),
                            bias: vec![0.0; s.c_out],
                            pool: s.pool,
                        }),
                        LayerKind::Fc => Layer::Fc(Fc {
                            fan_in: s.fan_in,
                            fan_out: s.fan_out,
                            weight: w,
                            bias: vec![0.0; s.fan_out],
                        }),
                    });
                    weight_layer += 1;
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

    fn geom_of(&self, c: &Conv, h: usize, w: usize) -> ConvGeom {
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

    /// Checks that consecutive layers agree on shapes and every tensor has its size.
    pub fn validate(&self) -> anyhow::Result<()> {
        let dims = self.dims();
        for (l, layer) in self.layers.iter().enumerate() {
            let [c, h, w] = dims[l];
            match layer {
                Layer::Conv(v) => {
                    anyhow::ensure!(
                        v.c_in == c,
                        "layer {l}: conv expects {} input channels, gets {c}",
                        v.c_in
                    );
                    anyhow::ensure!(v.k >= 1 && v.stride >= 1, "layer {l}: k and stride >= 1");
                    anyhow::ensure!(
                        h + 2 * v.pad >= v.k && w + 2 * v.pad >= v.k,
                        "layer {l}: kernel larger than its padded {h}x{w} input"
                    );
                    anyhow::ensure!(v.bias.len() == v.c_out, "layer {l}: bias length");
                    let kk = v.k * v.k;
                    match &v.weights {
                        ConvWeights::Dense(x) => anyhow::ensure!(
                            x.len() == v.c_out * v.c_in * kk,
                            "layer {l}: weight length"
                        ),
                        ConvWeights::Penni(p) => anyhow::ensure!(
                            p.basis.len() == p.d * kk && p.coef.len() == v.c_out * v.c_in * p.d,
                            "layer {l}: basis or coefficient length"
                        ),
                    }
                }
                Layer::Fc(f) => {
                    anyhow::ensure!(
                        f.fan_in == c * h * w,
                        "layer {l}: fc expects {} inputs, gets {}",
                        f.fan_in,
                        c * h * w
                    );
                    anyhow::ensure!(
                        f.weight.len() == f.fan_in * f.fan_out && f.bias.len() == f.fan_out,
                        "layer {l}: weight or bias length"
                    );
                }
            }
        }
        Ok(())
    }

    /// Parameter, coefficient and MAC counts per layer.
    pub fn counts(&self) -> Vec<Counts> {
        let nz = |v: &[f32]| v.iter().filter(|x| **x != 0.0).count();
        (0..self.layers.len())
            .map(|l| match &self.layers[l] {
                Layer::Conv(c) => {
                    let g = self.geom(l).unwrap();
                    let hw = g.positions();
                    let kk = c.k * c.k;
                    match &c.weights {
                        ConvWeights::Dense(w) => Counts {
                            params: w.len() + c.bias.len(),
                            nonzero_params: nz(w) + nz(&c.bias),
                            coefficients: 0,
                            nonzero_coefficients: 0,
                            macs: hw * c.c_in * c.c_out * kk,
                        },
                        ConvWeights::Penni(p) => {
                            let nnz = nz(&p.coef);
                            Counts {
                                params: p.basis.len() + p.coef.len() + c.bias.len(),
                                nonzero_params: nz(&p.basis) + nnz + nz(&c.bias),
                                coefficients: p.coef.len(),
                                nonzero_coefficients: nnz,
                                macs: hw * c.c_in * p.d * kk + nnz * hw,
                            }
                        }
                    }
                }
                Layer::Fc(f) => Counts {
                    params: f.weight.len() + f.bias.len(),
                    nonzero_params: nz(&f.weight) + nz(&f.bias),
                    coefficients: 0,
                    nonzero_coefficients: 0,
                    macs: f.fan_in * f.fan_out,
                },
            })
            .collect()
    }

    /// Sum of [`Self::counts`].
    pub fn total(&self) -> Counts {
        self.counts().iter().fold(Counts::default(), |a, c| Counts {
            params: a.params + c.params,
            nonzero_params: a.nonzero_params + c.nonzero_params,
            coefficients: a.coefficients + c.coefficients,
            nonzero_coefficients: a.nonzero_coefficients + c.nonzero_coefficients,
            macs: a.macs + c.macs,
        })
    }

    /// The crossbar layers of the model for the chip cost model. A dense layer is one matrix
    /// (k k C_in x C_out). A PENNI layer is two: the basis step (k^2 x d, read once per input
    /// channel and output pixel) and the coefficient matrix (d C_in x C_out, zero rows and
    /// columns dropped), read once per output pixel.
    pub fn chip_layers(&self) -> Vec<LayerShape> {
        let mut out = Vec::new();
        for l in 0..self.layers.len() {
            let name = format!("layer{}", l + 1);
            match &self.layers[l] {
                Layer::Fc(f) => {
                    out.push(shape(&name, LayerKind::Fc, 1, f.fan_in, f.fan_out, 1, None))
                }
                Layer::Conv(c) => {
                    let g = self.geom(l).unwrap();
                    let hw = g.positions();
                    match &c.weights {
                        ConvWeights::Dense(_) => out.push(LayerShape {
                            k: c.k,
                            stride: c.stride,
                            padding: c.pad,
                            c_in: c.c_in,
                            in_h: g.h,
                            in_w: g.w,
                            out_h: g.out_h(),
                            out_w: g.out_w(),
                            ..shape(
                                &name,
                                LayerKind::Conv,
                                hw,
                                g.fan_in(),
                                c.c_out,
                                c.c_out,
                                c.pool,
                            )
                        }),
                        ConvWeights::Penni(p) => {
                            let kk = c.k * c.k;
                            out.push(shape(
                                &format!("{name}.basis"),
                                LayerKind::Conv,
                                hw * c.c_in,
                                kk,
                                p.d,
                                p.d,
                                None,
                            ));
                            let cols = p.d * c.c_in;
                            let rows_used = (0..cols)
                                .filter(|&j| (0..c.c_out).any(|o| p.coef[o * cols + j] != 0.0))
                                .count();
                            let outs_used = (0..c.c_out)
                                .filter(|&o| {
                                    p.coef[o * cols..(o + 1) * cols].iter().any(|v| *v != 0.0)
                                })
                                .count();
                            out.push(shape(
                                &format!("{name}.coef"),
                                LayerKind::Conv,
                                hw,
                                rows_used.max(1),
                                outs_used.max(1),
                                outs_used.max(1),
                                c.pool,
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}

/// A crossbar layer of `fan_in x fan_out` read `positions` times per image.
fn shape(
    name: &str,
    kind: LayerKind,
    positions: usize,
    fan_in: usize,
    fan_out: usize,
    c_out: usize,
    pool: Option<PoolKind>,
) -> LayerShape {
    LayerShape {
        name: name.into(),
        kind,
        k: 1,
        stride: 1,
        padding: 0,
        c_in: fan_in,
        c_out,
        in_h: 1,
        in_w: positions,
        out_h: 1,
        out_w: positions,
        fan_in,
        fan_out,
        positions,
        macs: positions * fan_in * fan_out,
        pool,
    }
}
