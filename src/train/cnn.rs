//! Training convolutional networks with backpropagation on any backend: data resident on the
//! backend, epochs of steps, evaluation, and the same `RunReport` as the MLP path.

use std::time::Instant;

use super::augment::Augmenter;
use super::cnn_net::{CnnNet, Hyper};
use super::epochs::{self, EpochHooks};
use super::feed::{self, Feeder};
use super::report::{Divergence, RunReport};
use super::run::RunOptions;
use super::{cnn_dfa, cnn_insitu};
use crate::backend::*;
use crate::config::{ExperimentConfig, Rule};
use crate::data::{self, DataConfig, Split};
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

pub fn hyper(cfg: &ExperimentConfig, train_len: usize) -> Hyper {
    Hyper {
        batch: (cfg.train.batch_size as usize).min(train_len.max(1)),
        activation: cfg.network.activation,
        loss: cfg.train.loss,
        momentum: cfg.optimizer.momentum as f32,
        weight_decay: cfg.optimizer.weight_decay as f32,
        nesterov: cfg.optimizer.nesterov,
        lr: cfg.optimizer.lr as f32,
    }
}

/// A freshly initialised model for the experiment's `network.arch` and data.
pub fn init_model(cfg: &ExperimentConfig, split: &Split) -> anyhow::Result<Model> {
    let arch = cfg
        .network
        .arch
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("network.arch is required for a conv network"))?;
    let shape = split.train.shape;
    if let Some(input) = cfg.network.input {
        anyhow::ensure!(
            input == shape,
            "network.input {input:?} differs from the data's shape {shape:?}"
        );
    }
    Model::init(arch, shape, split.train.classes, cfg.network.init, cfg.seed)
}

/// Refuses a model whose weights, batch feature maps or unrolled conv inputs need a buffer
/// larger than the backend binds.
fn check_buffers(be: &dyn Backend, model: &Model, batch: usize) -> anyhow::Result<()> {
    use crate::nn::model::Layer;
    for (l, layer) in model.layers.iter().enumerate() {
        // Weights, unrolled inputs (conv) and the pre-pool output map, per batch.
        let (weights, cols, outputs) = match (layer, model.geom(l)) {
            (Layer::Conv(v), Some(g)) => (
                v.c_out * v.c_in * v.k * v.k,
                batch * g.positions() * g.fan_in(),
                batch * g.positions() * v.c_out,
            ),
            (Layer::Fc(f), _) => (f.fan_in * f.fan_out, 0, batch * f.fan_out),
            _ => (0, 0, 0),
        };
        check_buffer(be, &format!("the weights of layer {l}"), weights)?;
        check_buffer(be, &format!("the unrolled inputs of layer {l}"), cols)?;
        check_buffer(be, &format!("the outputs of layer {l}"), outputs)?;
    }
    Ok(())
}

/// A network and the data it trains on, on one backend.
pub struct CnnTrainer<'a> {
    pub be: &'a mut dyn Backend,
    pub net: CnnNet,
    pub data: Feeder,
    seed: u64,
    /// Where the training loss diverged, and the bound it is checked against.
    pub diverged: Option<Divergence>,
    pub max_loss: f64,
}

impl<'a> CnnTrainer<'a> {
    pub fn new(
        be: &'a mut dyn Backend,
        model: &Model,
        hyper: Hyper,
        split: &Split,
        seed: u64,
    ) -> anyhow::Result<CnnTrainer<'a>> {
        anyhow::ensure!(
            model.input == split.train.shape,
            "the model's input {:?} differs from the data's shape {:?}",
            model.input,
            split.train.shape
        );
        check_buffers(&*be, model, hyper.batch)?;
        let net = CnnNet::new(be, model, hyper)?;
        let data = Feeder::new(be, split)?;
        Ok(CnnTrainer {
            be,
            net,
            data,
            seed,
            diverged: None,
            max_loss: crate::config::TrainConfig::default().max_loss,
        })
    }

    /// Augments training batches as `cfg.augment` says (evaluation never is).
    pub fn set_augment(&mut self, cfg: &DataConfig) -> anyhow::Result<()> {
        let (shape, batch) = (self.net.input, self.net.hyper.batch);
        self.data.augment = Augmenter::new(self.be, cfg, shape, batch, self.seed)?;
        Ok(())
    }

    fn read_acc(&mut self) -> (f64, f64) {
        feed::read_acc(self.be, self.net.acc)[0]
    }

    /// One epoch of training steps; (loss, accuracy) over its batches.
    pub fn train_epoch(&mut self, epoch: u32, bar: &indicatif::ProgressBar) -> (f64, f64) {
        epochs::train_epoch(self, epoch, bar)[0]
    }

    /// Test (loss, accuracy) and seconds per batch of the forward passes, in evaluation mode
    /// (batch norm with running statistics).
    pub fn evaluate(&mut self) -> (f64, f64, f64) {
        self.net.training = false;
        let out = self.evaluate_batches();
        self.net.training = true;
        out
    }

    fn evaluate_batches(&mut self) -> (f64, f64, f64) {
        self.be.read(self.net.acc);
        let t0 = Instant::now();
        let n = self.data.test.n;
        let (acc, batches) = epochs::test_set(self, n);
        let secs = t0.elapsed().as_secs_f64();
        (acc[0].0, acc[0].1, secs / batches.max(1) as f64)
    }

    /// DFA feedback (under `train.rule = "dfa"`) and crossbars (with `[array]`) per `cfg`;
    /// ADC ranges are calibrated on the start of `calib`.
    pub fn attach(
        &mut self,
        model: &Model,
        cfg: &ExperimentConfig,
        calib: &data::Dataset,
    ) -> anyhow::Result<()> {
        if cfg.train.rule == Rule::Dfa {
            let t = &cfg.train;
            cnn_dfa::attach(self.be, &mut self.net, t.dfa_scope, t.feedback, self.seed);
        }
        cnn_insitu::attach(self.be, &mut self.net, model, cfg, calib, self.seed)
    }

    /// Crossbar activity of every weight layer so far (empty for float runs).
    pub fn activity(&mut self) -> Vec<crate::backend::xbar::XbarActivity> {
        self.net.activity(self.be)
    }

    pub fn model(&mut self) -> Model {
        self.net.to_model(self.be)
    }

    /// Writes the model as it is now to `path`, with every crossbar layer's programmed cells.
    pub fn save(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        let model = self.model();
        let cells: Vec<_> = self
            .net
            .layers
            .iter()
            .enumerate()
            .filter_map(|(l, lb)| match &lb.weights {
                super::cnn_net::Weights::Xbar { id, .. } => Some((l, *id)),
                _ => None,
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(l, id)| (l, self.be.xbar_cells(id).remove(0)))
            .collect();
        crate::model_io::save_with_cells(&model, &cells, path)
    }
}

/// Trains the experiment's conv network (BP or DFA, in float or in situ on crossbars with
/// `[array]`) and reports like the MLP path. With
/// `model`, training starts from those weights instead of a fresh initialisation; the trained
/// model is returned beside the report.
pub fn train(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
    opts: &RunOptions,
    model: Option<Model>,
) -> anyhow::Result<(RunReport, Model)> {
    anyhow::ensure!(
        cfg.population.len() <= 1,
        "population has {} entries: conv networks train one instance",
        cfg.population.len()
    );
    let model = match model {
        Some(m) => m,
        None => init_model(cfg, split)?,
    };
    let adapter = be.describe();
    let seed = cfg.instances()[0].seed.unwrap_or(cfg.seed);
    let mut t = CnnTrainer::new(be, &model, hyper(cfg, split.train.len()), split, seed)?;
    t.max_loss = cfg.train.max_loss;
    t.set_augment(&cfg.data)?;
    t.attach(&model, cfg, &split.train)?;
    let mut report = RunReport::start(adapter, cfg, &[(seed, cfg.optimizer.lr)]);
    epochs::run_epochs(&mut t, cfg, split.train.len(), opts, &mut report)?;
    let model = t.model();
    Ok((report, model))
}

impl EpochHooks for CnnTrainer<'_> {
    fn begin_epoch(&mut self, cfg: &ExperimentConfig, epoch: u32) {
        let lr = cfg.optimizer.lr * cfg.optimizer.lr_factor(epoch, cfg.train.epochs);
        self.net.set_lr(self.be, lr as f32);
    }

    fn shuffle(&mut self, epoch: u32) {
        self.data.shuffle(self.be, self.seed, epoch);
    }

    fn train_len(&self) -> usize {
        self.data.train.n
    }

    fn batch(&self) -> usize {
        self.net.hyper.batch
    }

    fn step(&mut self, epoch: u32, start: usize, rows: usize) {
        let (x, y) = (self.net.x, self.net.y);
        self.data.train_batch(self.be, x, y, epoch, start, rows);
        self.net.forward(self.be, rows);
        self.net.loss(self.be, rows);
        self.net.backward(self.be, rows);
        self.net.update(self.be);
        self.net.program(self.be);
        self.be.flush();
    }

    fn reset_acc(&mut self) {
        feed::reset_acc(self.be, self.net.acc, 1);
    }

    fn read_acc(&mut self) -> Vec<(f64, f64)> {
        vec![CnnTrainer::read_acc(self)]
    }

    fn diverged_mut(&mut self) -> &mut [Option<Divergence>] {
        std::slice::from_mut(&mut self.diverged)
    }

    fn max_loss(&self) -> f64 {
        self.max_loss
    }

    fn test_batch(&mut self, start: usize, rows: usize) {
        let xy = (self.net.x, self.net.y);
        self.data.plain_batch(self.be, false, xy, start, rows);
        self.net.forward(self.be, rows);
        self.net.loss(self.be, rows);
        self.be.flush();
    }

    fn test(&mut self) -> Vec<f64> {
        vec![self.evaluate().1]
    }

    fn activity(&mut self) -> Vec<crate::backend::xbar::XbarActivity> {
        CnnTrainer::activity(self)
    }

    fn save(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        CnnTrainer::save(self, path)
    }
}

/// [`train`] without the model: the entry point `train::run_on` dispatches to.
pub fn run_on(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
    opts: &RunOptions,
) -> anyhow::Result<RunReport> {
    train(be, cfg, split, opts, None).map(|(r, _)| r)
}
