//! Parameter, coefficient and MAC counts of a model, per layer, for stage tables.

use crate::nn::model::{Conv, ConvWeights, Layer, Model};

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
}
