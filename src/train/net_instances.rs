//! The population axis of a network's buffers: an FC-only network holds P instances in one
//! set of buffers (`[P][...]`: weights, biases, activations, errors, learning rates, one
//! crossbar layer of P instances per weight layer) and runs every kernel for all P in one
//! dispatch, with per-instance strides. Networks with conv layers hold one instance.

use crate::backend::xbar::MatView;
use crate::backend::*;
use crate::nn::model::{Layer, Model};

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

/// Whether one network may hold every model as an instance: FC-only models of one shape.
pub fn stackable(models: &[&Model]) -> bool {
    let fc_only = |m: &Model| m.layers.iter().all(|l| matches!(l, Layer::Fc(_)));
    let shape = |m: &Model| {
        let dims: Vec<(usize, usize)> = m
            .layers
            .iter()
            .filter_map(|l| match l {
                Layer::Fc(f) => Some((f.fan_in, f.fan_out)),
                Layer::Conv(_) => None,
            })
            .collect();
        (m.input, dims)
    };
    models
        .iter()
        .all(|m| fc_only(m) && shape(m) == shape(models[0]))
}

/// Refuses more than one instance unless the models are stackable.
pub(super) fn check_instances(models: &[&Model]) -> anyhow::Result<()> {
    anyhow::ensure!(!models.is_empty(), "a network needs at least one instance");
    anyhow::ensure!(
        models.len() == 1 || stackable(models),
        "only FC-only networks of one shape hold several instances in one network"
    );
    Ok(())
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

/// A `[P][rows][ld]` matrix in `buf`, instances `stride` values apart (0: shared).
pub(super) fn view(buf: Buf, ld: usize, stride: usize) -> MatView {
    MatView {
        buf,
        off: 0,
        ld: ld as u32,
        stride: stride as u32,
    }
}
