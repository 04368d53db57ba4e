//! Batch normalisation of conv layers (folded into the weights for inference by `nn::fold`).

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
