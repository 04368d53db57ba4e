//! The model a run starts from: `network.arch`, or `network.hidden` as shorthand for an
//! `FC...` arch, initialised for the data's shape and classes.

use crate::config::ExperimentConfig;
use crate::data::Split;
use crate::nn::arch::{self, LayerSpec};
use crate::nn::model::Model;

/// Whether the experiment's network has convolutions (and so trains here).
pub fn is_cnn(cfg: &ExperimentConfig) -> bool {
    cfg.network.arch.as_deref().is_some_and(|a| {
        arch::parse(a).is_ok_and(|s| {
            s.iter()
                .any(|l| matches!(l, LayerSpec::Conv { .. } | LayerSpec::Res { .. }))
        })
    })
}

/// A freshly initialised model for the experiment's `network.arch` and data.
pub fn init_model(cfg: &ExperimentConfig, split: &Split) -> anyhow::Result<Model> {
    init_model_seeded(cfg, split, cfg.seed)
}

/// [`init_model`] with the weights drawn from `seed`.
pub fn init_model_seeded(
    cfg: &ExperimentConfig,
    split: &Split,
    seed: u64,
) -> anyhow::Result<Model> {
    let classes = split.train.classes;
    let arch = match cfg.network.arch.as_deref() {
        Some(a) => a.to_string(),
        // `network.hidden` is shorthand for an FC arch.
        None => cfg
            .network
            .hidden
            .iter()
            .chain([&classes])
            .map(|n| format!("FC{n}"))
            .collect::<Vec<_>>()
            .join("-"),
    };
    let shape = split.train.shape;
    if let Some(input) = cfg.network.input {
        anyhow::ensure!(
            input == shape,
            "network.input {input:?} differs from the data's shape {shape:?}"
        );
    }
    Model::init(&arch, shape, classes, cfg.network.init, seed)
}
