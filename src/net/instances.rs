//! The population axis of a network's buffers: a network holds P instances of one shape in one
//! set of buffers (`[P][...]`: weights, biases, activations, errors, learning rates, one
//! crossbar layer of P instances per weight layer) and runs every kernel for all P in one
//! dispatch, with per-instance strides. Conv maps are `[P][C][B OH OW]`, so the kernels without
//! a weight (im2col, col2im, bias, activation, pooling, batch norm, shortcuts) see P C channels.
//! PENNI layers hold `[P][d][k k]` bases and `[P][C_out C_in][d]` coefficients; on crossbars
//! (inference only) they hold one instance.

use crate::backend::xbar::MatView;
use crate::backend::*;
use crate::nn::model::{Conv, ConvWeights, Layer, Model};

/// Optimiser and loss settings of a network on a backend.
#[derive(Debug, Clone, Copy)]
pub struct Hyper {
    pub batch: usize,
    pub activation: Activation,
    pub loss: LossKind,
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    pub lr: f32,
}

/// `[a][b][s] -> [b][a][s]`.
pub(super) fn permute(a: usize, b: usize, s: usize) -> PermuteParams {
    PermuteParams::new(a, b, s)
}

/// Whether one network may hold every model as an instance: models of one shape (PENNI
/// layers with equal `d`; their sparsity may differ, masks and coefficients are per instance).
pub fn stackable(models: &[&Model]) -> bool {
    let first = shape(models[0]);
    models.iter().all(|m| shape(m) == first)
}

/// What instances of one network share: every layer's shape, pooling, batch norm and
/// shortcut, and the form of every conv's weights.
fn shape(m: &Model) -> (Vec<String>, [usize; 3]) {
    let conv = |c: &Conv| {
        let form = match &c.weights {
            ConvWeights::Dense(_) => "dense".to_string(),
            ConvWeights::Penni(p) => format!("penni {}", p.d),
        };
        format!(
            "{} {} {} {} {} {:?} {:?} {form}",
            c.c_in,
            c.c_out,
            c.k,
            c.stride,
            c.pad,
            c.pool,
            c.bn.as_ref().map(|b| b.channels()),
        )
    };
    let layers = m
        .layers
        .iter()
        .map(|l| match l {
            Layer::Fc(f) => format!("fc {} {}", f.fan_in, f.fan_out),
            Layer::Conv(c) => {
                let sc = match &c.shortcut {
                    None => String::new(),
                    Some(s) => match &s.proj {
                        None => format!(" +{}", s.from),
                        Some(p) => format!(" +{} {}", s.from, conv(p)),
                    },
                };
                format!("conv {}{sc}", conv(c))
            }
        })
        .collect();
    (layers, m.input)
}

/// Refuses more than one instance unless the models are stackable.
pub(super) fn check_instances(models: &[&Model]) -> anyhow::Result<()> {
    anyhow::ensure!(!models.is_empty(), "a network needs at least one instance");
    anyhow::ensure!(
        models.len() == 1 || stackable(models),
        "only networks of one shape hold several instances in one network"
    );
    Ok(())
}

/// `part` of every model, one instance after another.
pub(super) fn concat<'m>(models: &[&'m Model], part: impl Fn(&'m Model) -> &'m [f32]) -> Vec<f32> {
    models
        .iter()
        .flat_map(|m| part(m).iter().copied())
        .collect()
}

/// FC layer `l`'s weights (`weight`) or biases of every model, one instance after another.
pub(super) fn fc_concat(models: &[&Model], l: usize, weight: bool) -> Vec<f32> {
    models
        .iter()
        .flat_map(|m| match &m.layers[l] {
            Layer::Fc(f) if weight => f.weight.clone(),
            Layer::Fc(f) => f.bias.clone(),
            Layer::Conv(_) => unreachable!("fc_concat on a fully connected layer"),
        })
        .collect()
}

/// Instance `i`'s part of `buf`, which holds `p` instances of equal size.
pub(super) fn instance_part(be: &mut dyn Backend, buf: Buf, i: usize, p: usize) -> Vec<f32> {
    let all = be.read(buf);
    let per = all.len() / p;
    all[i * per..(i + 1) * per].to_vec()
}

/// A `[P][rows][ld]` matrix in `buf`, instances `stride` values apart (0: shared).
pub(super) fn view(buf: Buf, ld: usize, stride: usize) -> MatView {
    MatView {
        buf,
        off: 0,
        ld: ld as u32,
        stride: stride as u32,
    }
}
