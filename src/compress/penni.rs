//! PENNI's model transformations on the host: decomposition into shared basis kernels and
//! coefficients, magnitude pruning, and shrinking of channels and bases to a fixed point.

use super::eigen::symmetric_eigen;
use crate::nn::model::{Conv, ConvWeights, Fc, Layer, Model, Penni};

/// Rewrites every dense k x k conv (k > 1) as `W ~ C V` with the top `d` right singular vectors
/// of the `(C_out C_in) x k^2` kernel matrix (uncentred: eigenvectors of `K^T K`). `d >= k^2`
/// keeps all k^2 and reconstructs exactly (up to rounding).
pub fn decompose(model: &mut Model, d: usize) {
    for layer in &mut model.layers {
        let Layer::Conv(c) = layer else { continue };
        let ConvWeights::Dense(w) = &c.weights else {
            continue;
        };
        if c.k < 2 {
            continue;
        }
        let kk = c.k * c.k;
        let d = d.min(kk);
        let mut gram = vec![0f64; kk * kk];
        for row in w.chunks(kk) {
            for i in 0..kk {
                for j in 0..kk {
                    gram[i * kk + j] += row[i] as f64 * row[j] as f64;
                }
            }
        }
        let (_, vecs) = symmetric_eigen(&gram, kk);
        let basis: Vec<f32> = vecs[..d].iter().flatten().map(|v| *v as f32).collect();
        let coef: Vec<f32> = w
            .chunks(kk)
            .flat_map(|row| {
                vecs[..d]
                    .iter()
                    .map(|v| row.iter().zip(v).map(|(a, b)| *a as f64 * b).sum::<f64>() as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        c.weights = ConvWeights::Penni(Penni { d, basis, coef });
    }
}

/// Per PENNI layer, zeroes coefficients with `|c| < s * std(C_layer)`, and the bias, and the
/// batch norm's gamma and beta, of output channels left without any coefficient: such a
/// channel then outputs exactly zero (BN would otherwise turn it into a constant) and shrinking
/// can remove it. Returns, per layer, the 0/1 masks to fine-tune with: coefficients, and per
/// output channel (for the bias, gamma and beta).
pub fn prune(model: &mut Model, s: f64) -> Vec<Option<(Vec<f32>, Vec<f32>)>> {
    model
        .layers
        .iter_mut()
        .map(|layer| {
            let Layer::Conv(c) = layer else { return None };
            let ConvWeights::Penni(p) = &mut c.weights else {
                return None;
            };
            let n = p.coef.len() as f64;
            let mean = p.coef.iter().map(|v| *v as f64).sum::<f64>() / n;
            let var = p
                .coef
                .iter()
                .map(|v| (*v as f64 - mean).powi(2))
                .sum::<f64>()
                / n;
            let cut = s * var.sqrt();
            for v in &mut p.coef {
                if (*v as f64).abs() < cut {
                    *v = 0.0;
                }
            }
            let per_out = c.c_in * p.d;
            let out_mask: Vec<f32> = p
                .coef
                .chunks(per_out.max(1))
                .map(|row| row.iter().any(|v| *v != 0.0) as u8 as f32)
                .collect();
            let dead = |o: usize| out_mask[o] == 0.0;
            for o in (0..c.c_out).filter(|o| dead(*o)) {
                c.bias[o] = 0.0;
                if let Some(bn) = &mut c.bn {
                    bn.gamma[o] = 0.0;
                    bn.beta[o] = 0.0;
                }
            }
            let coef_mask = p.coef.iter().map(|x| (*x != 0.0) as u8 as f32).collect();
            Some((coef_mask, out_mask))
        })
        .collect()
}

/// Output channels of a conv that produce something: a non-zero weight, or a constant that is
/// not provably zero. Without BN the constant is the bias. With BN a weightless channel
/// outputs beta in training mode and `gamma (bias - mean) / sigma + beta` in inference mode,
/// so it is dead only when beta = 0 and (gamma = 0 or bias = running mean). (Folding a
/// non-zero constant into the next layer's bias is not exact next to zero padding, so such
/// channels are kept.)
fn live_outputs(c: &Conv) -> Vec<bool> {
    let w = c.dense_rows();
    (0..c.c_out)
        .map(|o| {
            let constant = match &c.bn {
                None => c.bias[o] != 0.0,
                Some(bn) => bn.beta[o] != 0.0 || (bn.gamma[o] != 0.0 && c.bias[o] != bn.mean[o]),
            };
            constant || w[o].iter().any(|v| *v != 0.0)
        })
        .collect()
}

/// Input channels a layer reads: any non-zero weight on them. For FC, `hw` values per channel.
fn used_inputs(layer: &Layer, channels: usize, hw: usize) -> Vec<bool> {
    match layer {
        Layer::Conv(c) => {
            let w = c.dense_rows();
            let per = c.c_in_weights();
            (0..channels)
                .map(|i| {
                    w.iter()
                        .any(|row| row[i * per..(i + 1) * per].iter().any(|v| *v != 0.0))
                })
                .collect()
        }
        Layer::Fc(f) => (0..channels)
            .map(|i| {
                (0..f.fan_out).any(|o| {
                    f.weight[o * f.fan_in + i * hw..o * f.fan_in + (i + 1) * hw]
                        .iter()
                        .any(|v| *v != 0.0)
                })
            })
            .collect(),
    }
}

impl Conv {
    /// Per output channel, the stored values that read the inputs: dense `C_in k k` or PENNI
    /// `C_in d`, in input-channel order.
    fn dense_rows(&self) -> Vec<&[f32]> {
        let per = self.c_in * self.c_in_weights();
        let data = match &self.weights {
            ConvWeights::Dense(w) => w,
            ConvWeights::Penni(p) => &p.coef,
        };
        data.chunks(per.max(1)).collect()
    }

    /// Stored values per (output, input) channel pair.
    fn c_in_weights(&self) -> usize {
        match &self.weights {
            ConvWeights::Dense(_) => self.k * self.k,
            ConvWeights::Penni(p) => p.d,
        }
    }

    /// Keeps the flagged output and input channels.
    fn keep(&mut self, outs: &[bool], ins: &[bool]) {
        let per = self.c_in_weights();
        let rows: Vec<f32> = self
            .dense_rows()
            .iter()
            .zip(outs)
            .filter(|(_, k)| **k)
            .flat_map(|(row, _)| {
                row.chunks(per)
                    .zip(ins)
                    .filter(|(_, k)| **k)
                    .flat_map(|(c, _)| c.to_vec())
                    .collect::<Vec<_>>()
            })
            .collect();
        self.bias = self
            .bias
            .iter()
            .zip(outs)
            .filter(|(_, k)| **k)
            .map(|(b, _)| *b)
            .collect();
        match &mut self.weights {
            ConvWeights::Dense(w) => *w = rows,
            ConvWeights::Penni(p) => p.coef = rows,
        }
        if let Some(bn) = &mut self.bn {
            bn.keep(outs);
        }
        self.c_out = outs.iter().filter(|k| **k).count();
        self.c_in = ins.iter().filter(|k| **k).count();
    }

    /// Removes bases no coefficient uses.
    fn drop_unused_bases(&mut self) -> bool {
        let ConvWeights::Penni(p) = &mut self.weights else {
            return false;
        };
        let used: Vec<bool> = (0..p.d)
            .map(|b| p.coef.iter().skip(b).step_by(p.d).any(|v| *v != 0.0))
            .collect();
        if used.iter().all(|u| *u) {
            return false;
        }
        let kk = self.k * self.k;
        p.basis = p
            .basis
            .chunks(kk)
            .zip(&used)
            .filter(|(_, u)| **u)
            .flat_map(|(b, _)| b.to_vec())
            .collect();
        p.coef = p
            .coef
            .chunks(p.d)
            .flat_map(|c| {
                c.iter()
                    .zip(&used)
                    .filter(|(_, u)| **u)
                    .map(|(v, _)| *v)
                    .collect::<Vec<_>>()
            })
            .collect();
        p.d = used.iter().filter(|u| **u).count();
        true
    }
}

impl Fc {
    /// Keeps the inputs of the flagged channels (`hw` values each).
    fn keep_channels(&mut self, keep: &[bool], hw: usize) {
        let cols: Vec<bool> = keep
            .iter()
            .flat_map(|k| std::iter::repeat_n(*k, hw))
            .collect();
        self.weight = self
            .weight
            .chunks(self.fan_in)
            .flat_map(|row| {
                row.iter()
                    .zip(&cols)
                    .filter(|(_, k)| **k)
                    .map(|(v, _)| *v)
                    .collect::<Vec<_>>()
            })
            .collect();
        self.fan_in = cols.iter().filter(|k| **k).count();
    }
}

/// Conv layers whose output channels are one set: a layer closing a residual block with an
/// identity shortcut adds its block input channel by channel, so the two are tied. Groups are
/// sorted lists of layer indices.
fn tied_groups(model: &Model) -> Vec<Vec<usize>> {
    let n = model.layers.len();
    let mut root: Vec<usize> = (0..n).collect();
    fn find(root: &mut [usize], mut i: usize) -> usize {
        while root[i] != i {
            root[i] = root[root[i]];
            i = root[i];
        }
        i
    }
    for (m, layer) in model.layers.iter().enumerate() {
        if let Layer::Conv(Conv {
            shortcut: Some(sc), ..
        }) = layer
        {
            if sc.proj.is_none() {
                let (a, b) = (find(&mut root, m), find(&mut root, sc.from));
                root[a] = b;
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n];
    for l in 0..n {
        if matches!(model.layers[l], Layer::Conv(_)) {
            let r = find(&mut root, l);
            groups[r].push(l);
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// Layers whose projection shortcut reads the output of layer `g`.
fn projections_from(model: &Model, g: usize) -> Vec<usize> {
    (0..model.layers.len())
        .filter(|&m| match &model.layers[m] {
            Layer::Conv(c) => c
                .shortcut
                .as_ref()
                .is_some_and(|s| s.from == g && s.proj.is_some()),
            Layer::Fc(_) => false,
        })
        .collect()
}

fn proj_mut(layer: &mut Layer) -> &mut Conv {
    match layer {
        Layer::Conv(Conv {
            shortcut: Some(sc), ..
        }) => sc.proj.as_mut().expect("a projection shortcut"),
        _ => unreachable!("projections_from lists layers with a projection"),
    }
}

/// One shrinking pass over a group of tied layers: their channels are kept where any member
/// (or a member's projection) produces something and any reader uses them; readers are the
/// layer after each member and the projections reading a member's output.
fn shrink_group(model: &mut Model, group: &[usize], dims: &[[usize; 3]]) -> bool {
    let last = model.layers.len() - 1;
    if group.contains(&last) {
        return false;
    }
    let Layer::Conv(first) = &model.layers[group[0]] else {
        return false;
    };
    let c = first.c_out;
    let mut live = vec![false; c];
    let mut used = vec![false; c];
    let or = |acc: &mut Vec<bool>, v: Vec<bool>| acc.iter_mut().zip(v).for_each(|(a, b)| *a |= b);
    for &g in group {
        let Layer::Conv(conv) = &model.layers[g] else {
            unreachable!("groups hold conv layers")
        };
        or(&mut live, live_outputs(conv));
        if let Some(p) = conv.shortcut.as_ref().and_then(|s| s.proj.as_ref()) {
            or(&mut live, live_outputs(p));
        }
        let [_, h, w] = dims[g + 1];
        let hw = if matches!(model.layers[g + 1], Layer::Fc(_)) {
            h * w
        } else {
            1
        };
        or(&mut used, used_inputs(&model.layers[g + 1], c, hw));
        for m in projections_from(model, g) {
            let Layer::Conv(mc) = &model.layers[m] else {
                unreachable!()
            };
            let p = mc
                .shortcut
                .as_ref()
                .and_then(|s| s.proj.as_deref())
                .unwrap();
            or(&mut used, used_inputs(&Layer::Conv(p.clone()), c, 1));
        }
    }
    let keep: Vec<bool> = live.iter().zip(&used).map(|(a, b)| *a && *b).collect();
    if keep.iter().all(|k| *k) || keep.iter().all(|k| !*k) {
        // A layer left with no channel would cut the network: keep it as is.
        return false;
    }
    for &g in group {
        if let Layer::Conv(conv) = &mut model.layers[g] {
            conv.keep(&keep, &vec![true; conv.c_in]);
            if let Some(p) = conv.shortcut.as_mut().and_then(|s| s.proj.as_mut()) {
                p.keep(&keep, &vec![true; p.c_in]);
            }
        }
    }
    for &g in group {
        let [_, h, w] = dims[g + 1];
        match &mut model.layers[g + 1] {
            Layer::Conv(n) => n.keep(&vec![true; n.c_out], &keep),
            Layer::Fc(f) => f.keep_channels(&keep, h * w),
        }
        for m in projections_from(model, g) {
            let p = proj_mut(&mut model.layers[m]);
            p.keep(&vec![true; p.c_out], &keep);
        }
    }
    true
}

/// Removes, to a fixed point, every conv output channel that is dead (no weight and a
/// provably zero constant output: it outputs zero) or unused by its readers, with the
/// readers' inputs on it, and every unused basis. Channels tied by identity shortcuts are
/// removed together, only where every member is dead or every reader ignores them. Outputs of
/// the network do not change (for activations with act(0) = 0). Returns the number of rounds.
pub fn shrink(model: &mut Model) -> usize {
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut changed = false;
        for group in tied_groups(model) {
            let dims = model.dims();
            changed |= shrink_group(model, &group, &dims);
        }
        for layer in &mut model.layers {
            if let Layer::Conv(c) = layer {
                changed |= c.drop_unused_bases();
            }
        }
        if !changed {
            return rounds;
        }
    }
}
