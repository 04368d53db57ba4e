//! The WAGE network: a bias-free ReLU MLP whose forward and backward passes are WAGE-quantized
//! digital arithmetic (no crossbar read, no ADC, no on/off ratio); only the weight update goes
//! through the device model ([`super::update_law`]).
//!
//! Layer l (no bias) with weights w in [-1, 1] and power-of-two scale alpha_l:
//! z = x Q(w, b_w)^T / alpha_l; hidden layers output h = relu(Q(C(z, b_a), b_a)), the last
//! outputs z. The loss is 0.5 sum (z - onehot)^2 over the batch. Backward: e_L = QE(z - onehot);
//! dW_l = e_l^T x_l; e_{l-1} = QE((e_l Q(w_l) / alpha_l) [h > 0]) [|z_{l-1}| <= 1 - sigma(b_a)].
//! The velocity v = momentum v + gain dW is divided in place by shift(max |v|) and drives the
//! update law. The velocity restarts at zero every epoch.
//!
//! The trained network is kept as fully connected layers with weights Q(w, b_w) / alpha_l
//! ([`WageMlp::to_model`]).

use super::quant::{
    clip, init_limit_and_scale, normalize_by_shift, quantize, quantize_error, sigma,
};
use super::update_law::{update_layer, Draws, LayerCurves, UpdateLaw};
use crate::backend::Gemm;
use crate::config::{ExperimentConfig, WageConfig};
use crate::cpu::gemm::gemm;
use crate::nn::init::uniform_sym;
use crate::nn::model::{Fc, Layer, Model};
use crate::rng::Purpose;

/// One instance: weights, velocities and device curves of every layer.
pub struct WageMlp {
    /// Layer widths [inputs, hidden..., classes].
    pub sizes: Vec<usize>,
    pub bits: WageConfig,
    /// Per layer: fan_out x fan_in weights, row-major.
    pub w: Vec<Vec<f32>>,
    /// Per layer: the power-of-two output scale alpha.
    pub scale: Vec<f32>,
    v: Vec<Vec<f32>>,
    curves: Vec<LayerCurves>,
    law: UpdateLaw,
    momentum: f32,
    /// NeuroSim's grad_scale: the normalised velocity's factor.
    pub lr: f32,
    seed: u64,
    steps: u32,
}

/// Forward values of one batch: per layer the quantized weights Q(w, b_w) (the backward pass
/// reads the same), the pre-activation z and the output h.
struct Pass {
    q: Vec<Vec<f32>>,
    z: Vec<Vec<f32>>,
    h: Vec<Vec<f32>>,
}

impl WageMlp {
    pub fn new(cfg: &ExperimentConfig, sizes: Vec<usize>, seed: u64, lr: f64) -> WageMlp {
        let bits = cfg.wage.clone().unwrap_or_default();
        let dev = cfg.device.clone().unwrap_or_default();
        let layers = sizes.len() - 1;
        let (mut w, mut scale, mut curves) = (vec![], vec![], vec![]);
        for l in 0..layers {
            let (fi, n) = (sizes[l], sizes[l] * sizes[l + 1]);
            let (limit, s) = init_limit_and_scale(fi, bits.weight_bits, bits.init_beta);
            w.push(uniform_sym(n, limit, seed, Purpose::Init, l as u32));
            scale.push(s);
            curves.push(LayerCurves::spread(&dev, bits.nl_spread, n, seed, l as u32));
        }
        let v = w.iter().map(|l| vec![0.0; l.len()]).collect();
        let law = UpdateLaw {
            levels: dev.levels,
            max_pulses: dev.max_pulses_per_update,
            weight_bits: bits.weight_bits,
            gradient_bits: bits.gradient_bits,
            c2c: dev.c2c as f32,
        };
        WageMlp {
            sizes,
            bits,
            w,
            scale,
            v,
            curves,
            law,
            momentum: cfg.optimizer.momentum as f32,
            lr: lr as f32,
            seed,
            steps: 0,
        }
    }

    fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Weights as the forward and backward passes use them: Q(w, b_w).
    fn quantized(&self, l: usize) -> Vec<f32> {
        let b = self.bits.weight_bits;
        self.w[l].iter().map(|v| quantize(*v, b)).collect()
    }

    fn forward(&self, x: &[f32], rows: usize) -> Pass {
        let (mut z, mut h) = (Vec::new(), Vec::<Vec<f32>>::new());
        let q: Vec<Vec<f32>> = (0..self.layers()).map(|l| self.quantized(l)).collect();
        let last = self.layers() - 1;
        let ab = self.bits.activation_bits;
        for l in 0..=last {
            let (fi, fo) = (self.sizes[l], self.sizes[l + 1]);
            let input = if l == 0 { x } else { &h[l - 1][..] };
            let mut out = vec![0.0; rows * fo];
            let mut g = Gemm::dense(rows as u32, fo as u32, fi as u32, false, true, 1);
            g.params.alpha = 1.0 / self.scale[l];
            gemm(input, &q[l], &mut out, &g);
            let act = if l < last {
                out.iter()
                    .map(|v| quantize(clip(*v, ab), ab).max(0.0))
                    .collect()
            } else {
                out.clone()
            };
            z.push(out);
            h.push(act);
        }
        Pass { q, z, h }
    }

    /// Class scores of `rows` samples.
    pub fn predict(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.forward(x, rows).h.pop().unwrap_or_default()
    }

    /// Summed loss and correct count of a batch, scored as [`WageMlp::step`] scores it.
    pub fn evaluate(&self, x: &[f32], labels: &[u32]) -> (f64, usize) {
        let classes = self.sizes[self.layers()];
        score(&self.predict(x, labels.len()), labels, classes)
    }

    /// One training step; returns the batch's summed loss and correct count.
    pub fn step(&mut self, x: &[f32], labels: &[u32]) -> (f64, usize) {
        let rows = labels.len();
        let last = self.layers() - 1;
        let classes = self.sizes[last + 1];
        let pass = self.forward(x, rows);
        let out = &pass.h[last];
        let mut e = out.clone();
        let (loss, correct) = score(out, labels, classes);
        for (r, &y) in labels.iter().enumerate() {
            e[r * classes + y as usize] -= 1.0;
        }
        let (eb, ab) = (self.bits.error_bits, self.bits.activation_bits);
        quantize_error(&mut e, eb);
        let mut grads = vec![Vec::new(); last + 1];
        for l in (0..=last).rev() {
            let (fi, fo) = (self.sizes[l], self.sizes[l + 1]);
            let input = if l == 0 { x } else { &pass.h[l - 1][..] };
            let mut dw = vec![0.0; fo * fi];
            gemm(
                &e,
                input,
                &mut dw,
                &Gemm::dense(fo as u32, fi as u32, rows as u32, true, false, 1),
            );
            grads[l] = dw;
            if l == 0 {
                break;
            }
            let mut down = vec![0.0; rows * fi];
            let mut g = Gemm::dense(rows as u32, fi as u32, fo as u32, false, false, 1);
            g.params.alpha = 1.0 / self.scale[l];
            gemm(&e, &pass.q[l], &mut down, &g);
            for (d, h) in down.iter_mut().zip(&pass.h[l - 1]) {
                if *h <= 0.0 {
                    *d = 0.0;
                }
            }
            quantize_error(&mut down, eb);
            let bound = 1.0 - sigma(ab);
            for (d, z) in down.iter_mut().zip(&pass.z[l - 1]) {
                if z.abs() > bound {
                    *d = 0.0;
                }
            }
            e = down;
        }
        let gain = self.bits.gradient_gain as f32;
        for (l, dw) in grads.iter().enumerate() {
            let v = &mut self.v[l];
            for (vi, gi) in v.iter_mut().zip(dw) {
                *vi = self.momentum * *vi + gain * gi;
            }
            if !normalize_by_shift(v) {
                continue;
            }
            let g: Vec<f32> = v.iter().map(|vi| self.lr * vi).collect();
            let draws = Draws {
                seed: self.seed,
                layer: l as u32,
                step: self.steps,
            };
            update_layer(&mut self.w[l], &g, &self.curves[l], &self.law, draws);
        }
        self.steps = self.steps.wrapping_add(1);
        (loss, correct)
    }

    /// Restarts the velocities (NeuroSim does at every epoch).
    pub fn reset_velocity(&mut self) {
        self.v.iter_mut().for_each(|v| v.fill(0.0));
    }

    /// The network as a model of fully connected layers on `input` images: weights
    /// Q(w, b_w) / alpha_l, zero biases. A float ReLU forward of it differs from the WAGE
    /// forward only by the hidden activations' clip and quantization.
    pub fn to_model(&self, input: [usize; 3]) -> Model {
        let layers = (0..self.layers())
            .map(|l| {
                Layer::Fc(Fc {
                    fan_in: self.sizes[l],
                    fan_out: self.sizes[l + 1],
                    weight: self
                        .quantized(l)
                        .iter()
                        .map(|q| q / self.scale[l])
                        .collect(),
                    bias: vec![0.0; self.sizes[l + 1]],
                })
            })
            .collect();
        Model { input, layers }
    }
}

/// Summed squared-error loss 0.5 sum (out - onehot)^2 and the number of correct argmaxes.
fn score(out: &[f32], labels: &[u32], classes: usize) -> (f64, usize) {
    let (mut loss, mut correct) = (0.0f64, 0);
    for (r, &y) in labels.iter().enumerate() {
        let row = &out[r * classes..(r + 1) * classes];
        let mut best = 0;
        for (c, v) in row.iter().enumerate() {
            let t = if c == y as usize { 1.0 } else { 0.0 };
            loss += 0.5 * (*v as f64 - t).powi(2);
            if *v > row[best] {
                best = c;
            }
        }
        correct += (best == y as usize) as usize;
    }
    (loss, correct)
}
