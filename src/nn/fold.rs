//! Folding batch normalisation into the conv weights for inference.

use crate::nn::model::{Conv, ConvWeights, Layer, Model};

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
