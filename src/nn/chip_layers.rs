//! The crossbar layers a model puts on a chip, for the chip cost model.

use crate::config::ArrayConfig;
use crate::nn::arch::{LayerKind, LayerShape, PoolKind};
use crate::nn::model::{ConvWeights, Layer, Model};
use crate::xbar::layout::blocks_per_subarray;

impl Model {
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
