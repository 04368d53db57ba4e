//! A convolutional network on the host: layers, weights, shapes and counts. Training moves it
//! onto a backend (`train::cnn_net`); compression (`compress`) rewrites it; `model_io` saves it.

use crate::chip::mapping::blocks_per_subarray;
use crate::config::{ArrayConfig, Init};
use crate::nn::arch::{self, LayerKind, LayerShape, LayerSpec, PoolKind};
pub use crate::nn::block::{BatchNorm, Shortcut};
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

impl Counts {
    pub fn add(&self, c: &Counts) -> Counts {
        Counts {
            params: self.params + c.params,
            nonzero_params: self.nonzero_params + c.nonzero_params,
            coefficients: self.coefficients + c.coefficients,
            nonzero_coefficients: self.nonzero_coefficients + c.nonzero_coefficients,
            macs: self.macs + c.macs,
        }
    }
}

fn nz(v: &[f32]) -> usize {
    v.iter().filter(|x| **x != 0.0).count()
}

/// Counts of one conv with `hw` output pixels: dense H W C_in C_out k^2 MACs, PENNI
/// H W C_in d k^2 + nnz(C) H W.
fn conv_counts(c: &Conv, hw: usize) -> Counts {
    let kk = c.k * c.k;
    let (bn, bn_nz) = c.bn.as_ref().map_or((0, 0), |b| {
        let t = [&b.gamma, &b.beta, &b.mean, &b.var];
        (
            t.iter().map(|v| v.len()).sum(),
            t.iter().map(|v| nz(v)).sum(),
        )
    });
    let (params, nonzero_params, coefficients, nonzero_coefficients, macs) = match &c.weights {
        ConvWeights::Dense(w) => (w.len(), nz(w), 0, 0, hw * c.c_in * c.c_out * kk),
        ConvWeights::Penni(p) => {
            let nnz = nz(&p.coef);
            (
                p.basis.len() + p.coef.len(),
                nz(&p.basis) + nnz,
                p.coef.len(),
                nnz,
                hw * c.c_in * p.d * kk + nnz * hw,
            )
        }
    };
    Counts {
        params: params + c.bias.len() + bn,
        nonzero_params: nonzero_params + nz(&c.bias) + bn_nz,
        coefficients,
        nonzero_coefficients,
        macs,
    }
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
            let w = crate::train::init::weights(init, s.fan_in, s.fan_out, seed, next as u32);
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

    /// Refuses a loaded model whose architecture (layers, their shapes, pooling, batch norm,
    /// shortcuts), input or classes differ from `want`, the model the experiment describes.
    pub fn check_matches(&self, want: &Model) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.input == want.input,
            "the model's input {:?} differs from the data's shape {:?}",
            self.input,
            want.input
        );
        anyhow::ensure!(
            self.classes() == want.classes(),
            "the model has {} outputs but the data has {} classes",
            self.classes(),
            want.classes()
        );
        let desc = |m: &Model| -> Vec<String> {
            m.layers
                .iter()
                .map(|l| match l {
                    Layer::Conv(c) => format!(
                        "conv {}->{} k{} s{} p{} pool {:?} bn {} shortcut {}",
                        c.c_in,
                        c.c_out,
                        c.k,
                        c.stride,
                        c.pad,
                        c.pool,
                        c.bn.is_some(),
                        c.shortcut.as_ref().map_or("none".to_string(), |s| format!(
                            "from {} proj {}",
                            s.from,
                            s.proj.is_some()
                        ))
                    ),
                    Layer::Fc(f) => format!("fc {}->{}", f.fan_in, f.fan_out),
                })
                .collect()
        };
        let (got, exp) = (desc(self), desc(want));
        anyhow::ensure!(
            got.len() == exp.len(),
            "the model has {} weight layers, network.arch describes {}",
            got.len(),
            exp.len()
        );
        for (l, (g, e)) in got.iter().zip(&exp).enumerate() {
            anyhow::ensure!(g == e, "layer {l} is `{g}` but network.arch gives `{e}`");
        }
        Ok(())
    }

    /// Checks that consecutive layers agree on shapes and every tensor has its size.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::limits::{
            MAX_KERNEL, MAX_LAYER_WEIGHTS, MAX_PAD, MAX_SIDE, MAX_STRIDE, MAX_WIDTH,
        };
        let [c0, h0, w0] = self.input;
        anyhow::ensure!(
            (1..=MAX_WIDTH).contains(&c0)
                && (1..=MAX_SIDE).contains(&h0)
                && (1..=MAX_SIDE).contains(&w0),
            "input {:?}: allowed 1..={MAX_WIDTH} channels and 1..={MAX_SIDE} pixels a side",
            self.input
        );
        anyhow::ensure!(!self.layers.is_empty(), "the model has no layers");
        // Sizes, kernel and stride first: the shapes below divide by the stride.
        for (l, layer) in self.layers.iter().enumerate() {
            match layer {
                Layer::Conv(v) => {
                    let proj = v.shortcut.as_ref().and_then(|s| s.proj.as_deref());
                    for c in std::iter::once(v).chain(proj) {
                        anyhow::ensure!(
                            (1..=MAX_KERNEL).contains(&c.k)
                                && (1..=MAX_STRIDE).contains(&c.stride)
                                && c.pad <= MAX_PAD,
                            "layer {l}: k = {}, stride = {}, pad = {}: allowed k in \
                             1..={MAX_KERNEL}, stride in 1..={MAX_STRIDE}, pad <= {MAX_PAD}",
                            c.k,
                            c.stride,
                            c.pad
                        );
                        anyhow::ensure!(
                            (1..=MAX_WIDTH).contains(&c.c_in) && (1..=MAX_WIDTH).contains(&c.c_out),
                            "layer {l}: {} -> {} channels: allowed 1..={MAX_WIDTH}",
                            c.c_in,
                            c.c_out
                        );
                    }
                }
                Layer::Fc(f) => anyhow::ensure!(
                    f.fan_in >= 1
                        && f.fan_out >= 1
                        && (f.fan_in as u128 * f.fan_out as u128) <= MAX_LAYER_WEIGHTS as u128,
                    "layer {l}: fc {} -> {}: allowed at most {MAX_LAYER_WEIGHTS} weights",
                    f.fan_in,
                    f.fan_out
                ),
            }
        }
        // Shapes layer by layer, each checked before the next is derived from it.
        let (mut c, mut h, mut w) = (c0, h0, w0);
        for (l, layer) in self.layers.iter().enumerate() {
            match layer {
                Layer::Conv(v) => {
                    anyhow::ensure!(
                        v.c_in == c,
                        "layer {l}: conv expects {} input channels, gets {c}",
                        v.c_in
                    );
                    anyhow::ensure!(
                        h + 2 * v.pad >= v.k && w + 2 * v.pad >= v.k,
                        "layer {l}: kernel larger than its padded {h}x{w} input"
                    );
                    check_tensors(v, l)?;
                    let g = self.geom_of(v, h, w);
                    (h, w) = (g.out_h(), g.out_w());
                    if let Some(p) = v.pool {
                        anyhow::ensure!(
                            p == PoolKind::Global || (h >= 2 && w >= 2),
                            "layer {l}: cannot pool a {h}x{w} output 2x2"
                        );
                        (h, w) = pool::out_size(p, h, w);
                    }
                    c = v.c_out;
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
                    (c, h, w) = (f.fan_out, 1, 1);
                }
            }
        }
        let dims = self.dims();
        for (l, layer) in self.layers.iter().enumerate() {
            if let Layer::Conv(v) = layer {
                if let Some(sc) = &v.shortcut {
                    self.check_shortcut(l, v, sc, &dims)?;
                }
            }
        }
        Ok(())
    }

    /// The block input (output of layer `from`) must reach layer `l`'s pre-pool output shape,
    /// directly or through the projection.
    fn check_shortcut(
        &self,
        l: usize,
        v: &Conv,
        sc: &Shortcut,
        dims: &[[usize; 3]],
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            sc.from < l,
            "layer {l}: shortcut from layer {} is not before it",
            sc.from
        );
        anyhow::ensure!(
            matches!(self.layers[sc.from], Layer::Conv(_)),
            "layer {l}: the shortcut must start at a conv layer's output"
        );
        let g = self.geom(l).unwrap();
        let want = [v.c_out, g.out_h(), g.out_w()];
        let [c, h, w] = dims[sc.from + 1];
        let got = match &sc.proj {
            None => [c, h, w],
            Some(p) => {
                anyhow::ensure!(
                    p.c_in == c && p.shortcut.is_none() && p.pool.is_none(),
                    "layer {l}: projection expects {} channels, gets {c}",
                    p.c_in
                );
                anyhow::ensure!(
                    h + 2 * p.pad >= p.k && w + 2 * p.pad >= p.k,
                    "layer {l}: projection kernel larger than its padded {h}x{w} input"
                );
                check_tensors(p, l)?;
                let pg = self.geom_of(p, h, w);
                [p.c_out, pg.out_h(), pg.out_w()]
            }
        };
        anyhow::ensure!(
            got == want,
            "layer {l}: shortcut gives {got:?}, the layer's output is {want:?}"
        );
        Ok(())
    }

    /// Parameter, coefficient and MAC counts per layer. A layer closing a residual block
    /// counts its projection conv too; batch norm values count as parameters (gamma, beta and
    /// the running statistics) but not as MACs, and neither do residual additions.
    pub fn counts(&self) -> Vec<Counts> {
        (0..self.layers.len())
            .map(|l| match &self.layers[l] {
                Layer::Conv(c) => {
                    let hw = self.geom(l).unwrap().positions();
                    let mut n = conv_counts(c, hw);
                    if let Some(p) = c.shortcut.as_ref().and_then(|s| s.proj.as_ref()) {
                        // The projection's output matches this layer's (checked in validate).
                        n = n.add(&conv_counts(p, hw));
                    }
                    n
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
        self.counts()
            .iter()
            .fold(Counts::default(), |a, c| a.add(c))
    }

    /// The crossbar layers of the model for the chip cost model on `array`. A dense layer is
    /// one matrix (k k C_in x C_out). A PENNI layer is two: the basis step (m copies of the
    /// k^2 x d bases on the diagonal of one subarray, m as many as fit, read ceil(C_in / m)
    /// times per output pixel) and the coefficient matrix (d C_in x C_out, zero rows and
    /// columns dropped), read once per output pixel.
    pub fn chip_layers(&self, array: &ArrayConfig) -> Vec<LayerShape> {
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
                            // The basis step packs m input channels' k^2 x d blocks on the
                            // diagonal of one subarray: one read serves m channels.
                            let kk = c.k * c.k;
                            let m =
                                blocks_per_subarray(kk, p.d, array.weight_bits, array).min(c.c_in);
                            out.push(LayerShape {
                                macs: hw * c.c_in * kk * p.d,
                                ..shape(
                                    &format!("{name}.basis"),
                                    LayerKind::Conv,
                                    hw * c.c_in.div_ceil(m),
                                    m * kk,
                                    m * p.d,
                                    m * p.d,
                                    None,
                                )
                            });
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
                    // A projection shortcut is one more dense crossbar layer; batch norm and
                    // the residual addition are digital (BN folds into the weights).
                    if let Some(sc) = &c.shortcut {
                        if let Some(p) = &sc.proj {
                            let [_, h, w] = self.dims()[sc.from + 1];
                            let pg = self.geom_of(p, h, w);
                            out.push(LayerShape {
                                k: p.k,
                                stride: p.stride,
                                padding: p.pad,
                                c_in: p.c_in,
                                in_h: h,
                                in_w: w,
                                out_h: pg.out_h(),
                                out_w: pg.out_w(),
                                ..shape(
                                    &format!("{name}.proj"),
                                    LayerKind::Conv,
                                    pg.positions(),
                                    pg.fan_in(),
                                    p.c_out,
                                    p.c_out,
                                    None,
                                )
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

/// Tensor lengths of a conv (weights, bias, batch norm).
fn check_tensors(v: &Conv, l: usize) -> anyhow::Result<()> {
    anyhow::ensure!(v.bias.len() == v.c_out, "layer {l}: bias length");
    if let Some(bn) = &v.bn {
        anyhow::ensure!(
            [&bn.gamma, &bn.beta, &bn.mean, &bn.var]
                .iter()
                .all(|t| t.len() == v.c_out),
            "layer {l}: batch norm length (must be {} channels)",
            v.c_out
        );
    }
    let kk = v.k * v.k;
    match &v.weights {
        ConvWeights::Dense(x) => {
            anyhow::ensure!(x.len() == v.c_out * v.c_in * kk, "layer {l}: weight length")
        }
        ConvWeights::Penni(p) => anyhow::ensure!(
            p.basis.len() == p.d * kk && p.coef.len() == v.c_out * v.c_in * p.d,
            "layer {l}: basis or coefficient length"
        ),
    }
    Ok(())
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
        bn: false,
        residual: false,
    }
}
