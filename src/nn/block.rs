//! Batch normalisation and residual shortcuts of conv layers, and folding BN into the conv's
//! weights for inference.

use crate::nn::model::{Conv, ConvWeights, Layer, Model};

/// Added to the variance before the square root.
pub const BN_EPS: f32 = 1e-5;
/// Weight of the newest batch in the running statistics.
pub const BN_MOMENTUM: f32 = 0.1;

/// Per-channel batch normalisation `gamma (x - mean) / sqrt(var + eps) + beta`, applied to a
/// conv's output (after its bias) before the residual addition and the activation.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    /// Running mean and unbiased variance (inference statistics).
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

impl BatchNorm {
    /// The identity at initialisation: gamma 1, beta 0, running mean 0, variance 1.
    pub fn new(c: usize) -> BatchNorm {
        BatchNorm {
            gamma: vec![1.0; c],
            beta: vec![0.0; c],
            mean: vec![0.0; c],
            var: vec![1.0; c],
        }
    }

    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// Inference-mode `(scale, shift)` per channel: `bn(z) = scale z + shift`.
    pub fn affine(&self) -> (Vec<f32>, Vec<f32>) {
        (0..self.channels())
            .map(|c| {
                let s = self.gamma[c] / (self.var[c] + BN_EPS).sqrt();
                (s, self.beta[c] - self.mean[c] * s)
            })
            .unzip()
    }

    /// Keeps the channels where `keep` is true.
    pub fn keep(&mut self, keep: &[bool]) {
        for v in [
            &mut self.gamma,
            &mut self.beta,
            &mut self.mean,
            &mut self.var,
        ] {
            *v = v
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect();
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

impl Conv {
    /// Folds the batch normalisation into the weights and bias (`w' = w gamma / sigma`,
    /// `b' = (b - mean) gamma / sigma + beta`); exact for inference-mode BN.
    pub fn fold_bn(&mut self) {
        let Some(bn) = self.bn.take() else { return };
        let (scale, shift) = bn.affine();
        match &mut self.weights {
            ConvWeights::Dense(w) => {
                let row = w.len() / self.c_out;
                for (o, r) in w.chunks_mut(row).enumerate() {
                    r.iter_mut().for_each(|v| *v *= scale[o]);
                }
            }
            // A PENNI kernel is linear in its coefficients: scale each output's row of them.
            ConvWeights::Penni(p) => {
                let row = p.coef.len() / self.c_out;
                for (o, r) in p.coef.chunks_mut(row).enumerate() {
                    r.iter_mut().for_each(|v| *v *= scale[o]);
                }
            }
        }
        for (o, b) in self.bias.iter_mut().enumerate() {
            *b = *b * scale[o] + shift[o];
        }
    }
}

impl Model {
    /// The model with every batch normalisation (projections' included) folded into its conv:
    /// what an inference chip holds. Equal to the unfolded model in inference mode.
    pub fn folded(&self) -> Model {
        let mut m = self.clone();
        for layer in &mut m.layers {
            if let Layer::Conv(c) = layer {
                c.fold_bn();
                if let Some(p) = c.shortcut.as_mut().and_then(|s| s.proj.as_mut()) {
                    p.fold_bn();
                }
            }
        }
        m
    }
}
