//! Building a network on a backend: every layer's buffers for batches of up to `hyper.batch`
//! images, one instance per model, and the scratch the kernels share.

use super::block::{BnBufs, SkipBufs};
use super::instances::Hyper;
use super::instances::{check_instances, concat, fc_concat};
use super::network::{Kind, LayerBufs, Net, Weights};
use super::param::Param;
use crate::backend::*;
use crate::nn::conv::{ConvGeom, Layout};
use crate::nn::model::{Conv, ConvWeights, Layer, Model, Penni};
use crate::nn::pool;

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
        check_instances(models)?;
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
                    upload(be, models, l, b, scratch)
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
}

/// Conv layer `l` of `models` (one per instance, equal shapes) for batches of `b` images.
/// Grows the shared scratch sizes (per instance) `cols_len`, `out_len` and `maps_len`.
fn upload(
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
            penni_weights(be, &convs, &geom)
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

/// The PENNI weights of one conv layer of geometry `g` in every instance (`convs`, equal
/// shapes and `d`): bases `[P][d][k k]`, coefficients `[P][C_out C_in][d]`, and the
/// rebuilt kernel and its gradient `[P][C_out][C_in k k]`.
fn penni_weights(be: &mut dyn Backend, convs: &[&Conv], g: &ConvGeom) -> Weights {
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
