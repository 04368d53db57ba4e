//! Training any layer graph (MLPs and conv nets) with BP or DFA, in float or in situ, on any
//! backend: data resident on the backend, the population's instances in one network, epochs of
//! steps with ADC recalibration and the DFA alignment
//! diagnostic, evaluation, the report.

use std::time::Instant;

use super::augment::Augmenter;
use super::epochs::{self, EpochHooks};
use super::feed::{self, Feeder};
pub use super::graph_init::{init_model, init_model_seeded, is_cnn};
use super::options::{instance_settings, RunOptions};
use crate::backend::*;
use crate::config::{ExperimentConfig, Rule};
use crate::data::{self, DataConfig, Split};
use crate::net::{attach, dfa};
use crate::net::{Hyper, Net};
use crate::nn::model::Model;
use crate::report::{Divergence, RunReport};

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

/// Refuses a model whose weights, batch feature maps or unrolled conv inputs need a buffer
/// larger than the backend binds.
fn check_buffers(
    be: &dyn Backend,
    model: &Model,
    batch: usize,
    instances: usize,
) -> anyhow::Result<()> {
    use crate::nn::model::Layer;
    for (l, layer) in model.layers.iter().enumerate() {
        // Weights, unrolled inputs (conv) and the pre-pool output map, per batch.
        let (weights, cols, outputs) = match (layer, model.geom(l)) {
            (Layer::Conv(v), Some(g)) => (
                instances * v.c_out * v.c_in * v.k * v.k,
                instances * batch * g.positions() * g.fan_in(),
                instances * batch * g.positions() * v.c_out,
            ),
            (Layer::Fc(f), _) => (
                instances * f.fan_in * f.fan_out,
                0,
                instances * batch * f.fan_out,
            ),
            _ => (0, 0, 0),
        };
        let l = l + 1;
        check_buffer(be, &format!("the weights of layer {l}"), weights)?;
        check_buffer(be, &format!("the unrolled inputs of layer {l}"), cols)?;
        check_buffer(be, &format!("the outputs of layer {l}"), outputs)?;
    }
    Ok(())
}

/// Networks and the data they train on, on one backend: the population instances (each its
/// own weights, crossbars, DFA feedback and learning rate) all read the same batches. A
/// population is one network holding every instance, each kernel running all of them in one
/// dispatch.
pub struct Trainer<'a> {
    pub be: &'a mut dyn Backend,
    /// The network holding every instance.
    pub net: Net,
    pub data: Feeder,
    /// Seed of the data order and augmentation (shared by the instances).
    seed: u64,
    /// Per instance: the seed of its DFA feedback and crossbar draws.
    pub(super) seeds: Vec<u64>,
    /// Per instance: where the training loss diverged, and the bound it is checked against.
    pub diverged: Vec<Option<Divergence>>,
    pub max_loss: f64,
    /// ADC recalibration during training, when the run asks for it.
    pub(super) recal: Option<Recal>,
    /// Training steps taken.
    steps: u32,
    /// Replaces the learning-rate schedule at the start of every epoch (PENNI's stages set
    /// their own rate and which tensors train).
    pub epoch_start: Option<EpochStart<'a>>,
}

/// A per-epoch setting of the network: `(backend, net, epoch)`.
pub type EpochStart<'a> = Box<dyn FnMut(&mut dyn Backend, &mut Net, u32) + 'a>;

/// What recalibrating the `calibrated` ADC ranges during training needs: the experiment, its
/// fixed calibration batch (the training set's first images), and when it runs.
pub(super) struct Recal {
    pub(super) cfg: ExperimentConfig,
    pub(super) calib: data::Dataset,
    /// Every this many steps (0: never), and at the start of every epoch after the first.
    every_steps: u32,
    every_epoch: bool,
}

impl<'a> Trainer<'a> {
    /// One network, its data order and draws seeded by `seed`.
    pub fn new(
        be: &'a mut dyn Backend,
        model: &Model,
        hyper: Hyper,
        split: &Split,
        seed: u64,
    ) -> anyhow::Result<Trainer<'a>> {
        Self::population(be, &[(model, seed)], hyper, split, seed)
    }

    /// One network holding every `(model, seed)` instance (equal shapes); the data order and
    /// augmentation are seeded by `data_seed`.
    pub fn population(
        be: &'a mut dyn Backend,
        instances: &[(&Model, u64)],
        hyper: Hyper,
        split: &Split,
        data_seed: u64,
    ) -> anyhow::Result<Trainer<'a>> {
        let models: Vec<&Model> = instances.iter().map(|(m, _)| *m).collect();
        for model in &models {
            anyhow::ensure!(
                model.input == split.train.shape,
                "the model's input {:?} differs from the data's shape {:?}",
                model.input,
                split.train.shape
            );
        }
        // One network holds every instance (every kernel runs all of them at once).
        check_buffers(&*be, models[0], hyper.batch, models.len())?;
        let net = Net::with_instances(be, &models, hyper)?;
        let data = Feeder::new(be, split)?;
        Ok(Trainer {
            be,
            net,
            data,
            seed: data_seed,
            seeds: instances.iter().map(|(_, s)| *s).collect(),
            diverged: vec![None; instances.len()],
            max_loss: crate::config::TrainConfig::default().max_loss,
            recal: None,
            steps: 0,
            epoch_start: None,
        })
    }

    /// Augments training batches as `cfg.augment` says (evaluation never is).
    pub fn set_augment(&mut self, cfg: &DataConfig) -> anyhow::Result<()> {
        let (shape, batch) = (self.net.input, self.net.hyper.batch);
        self.data.augment = Augmenter::new(self.be, cfg, shape, batch, self.seed)?;
        Ok(())
    }

    /// One epoch of training steps; instance 0's (loss, accuracy) over its batches.
    pub fn train_epoch(&mut self, epoch: u32, bar: &indicatif::ProgressBar) -> (f64, f64) {
        epochs::train_epoch(self, epoch, bar)[0]
    }

    /// Instance 0's test (loss, accuracy) and seconds per batch of the forward passes, in
    /// evaluation mode (batch norm with running statistics).
    pub fn evaluate(&mut self) -> (f64, f64, f64) {
        let (acc, secs) = self.evaluate_all();
        (acc[0].0, acc[0].1, secs)
    }

    /// Every instance's test (loss, accuracy), and seconds per batch.
    fn evaluate_all(&mut self) -> (Vec<(f64, f64)>, f64) {
        self.net.training = false;
        self.be.read(self.net.acc);
        let t0 = Instant::now();
        let n = self.data.test.n;
        let (acc, batches) = epochs::test_set(self, n);
        let secs = t0.elapsed().as_secs_f64();
        self.net.training = true;
        (acc, secs / batches.max(1) as f64)
    }

    /// DFA feedback (under `train.rule = "dfa"`) and crossbars (with `[array]`) per `cfg`,
    /// instance i with `cfg.instances()[i]`'s knobs; ADC ranges are calibrated on the start
    /// of `calib` (and recalibrated during training as `cfg.array` asks).
    pub fn attach(&mut self, cfg: &ExperimentConfig, calib: &data::Dataset) -> anyhow::Result<()> {
        let net = &mut self.net;
        let models: Vec<Model> = (0..net.instances)
            .map(|i| net.to_model_at(self.be, i))
            .collect();
        if cfg.train.rule == Rule::Dfa {
            let t = &cfg.train;
            dfa::attach(self.be, net, t.dfa_scope, t.feedback, &self.seeds);
        }
        attach::for_training(self.be, net, &models, cfg, calib, &self.seeds)?;
        if cfg.train.last_layer_only {
            net.trained_from = net.layers.len() - 1;
        }
        let recalibrates = cfg.array.as_ref().filter(|a| {
            a.adc_mode == crate::config::AdcMode::Calibrated
                && (a.adc_recalibrate_steps > 0 || a.adc_recalibrate_epoch)
        });
        if let Some(a) = recalibrates {
            let rows = (self.net.hyper.batch).min(calib.len()).max(1);
            let calib = data::Dataset {
                images: calib.images[..rows * calib.features()].to_vec(),
                labels: calib.labels[..rows].to_vec(),
                shape: calib.shape,
                classes: calib.classes,
            };
            self.recal = Some(Recal {
                cfg: cfg.clone(),
                calib,
                every_steps: a.adc_recalibrate_steps,
                every_epoch: a.adc_recalibrate_epoch,
            });
        }
        Ok(())
    }

    /// Crossbar activity of every weight layer so far, summed over the instances (empty for
    /// float runs).
    pub fn activity(&mut self) -> Vec<crate::backend::xbar::XbarActivity> {
        self.net.activity(self.be)
    }

    /// Instance 0's model.
    pub fn model(&mut self) -> Model {
        self.net.to_model(self.be)
    }

    /// Writes instance 0's model as it is now to `path`, with every crossbar layer's
    /// programmed cells.
    pub fn save(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        let model = self.model();
        let mut cells = Vec::new();
        for (l, lb) in self.net.layers.iter().enumerate() {
            if let crate::net::Weights::Xbar { id, .. } = &lb.weights {
                cells.push((l, self.be.xbar_cells(*id).remove(0)));
            }
        }
        crate::model_io::save_with_cells(&model, &cells, path)
    }
}

/// Trains the experiment's conv network (BP or DFA, in float or in situ on crossbars with
/// `[array]`) and reports like the MLP path: every population instance with its own seed
/// (initial weights, DFA feedback, crossbar draws), learning rate and device knobs, on the
/// data order of `cfg.seed`. With `model`, every instance starts from those weights instead of
/// a fresh initialisation; instance 0's trained model is returned beside the report.
pub fn train(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
    opts: &RunOptions,
    model: Option<Model>,
) -> anyhow::Result<(RunReport, Model)> {
    let settings = instance_settings(cfg);
    let models = settings
        .iter()
        .map(|(seed, _)| match &model {
            Some(m) => Ok(m.clone()),
            None => init_model_seeded(cfg, split, *seed),
        })
        .collect::<anyhow::Result<Vec<Model>>>()?;
    let instances: Vec<(&Model, u64)> = models
        .iter()
        .zip(&settings)
        .map(|(m, s)| (m, s.0))
        .collect();
    let adapter = be.describe();
    let hyper = hyper(cfg, split.train.len());
    let mut t = Trainer::population(be, &instances, hyper, split, cfg.seed)?;
    t.max_loss = cfg.train.max_loss;
    t.set_augment(&cfg.data)?;
    t.attach(cfg, &split.train)?;
    let mut report = RunReport::start(adapter, cfg, &settings);
    epochs::run_epochs(&mut t, cfg, split.train.len(), opts, &mut report)?;
    let model = t.model();
    Ok((report, model))
}

impl EpochHooks for Trainer<'_> {
    fn begin_epoch(&mut self, cfg: &ExperimentConfig, epoch: u32) {
        if let Some(f) = self.epoch_start.as_mut() {
            return f(&mut *self.be, &mut self.net, epoch);
        }
        let factor = cfg.optimizer.lr_factor(epoch, cfg.train.epochs);
        let lrs: Vec<f32> = instance_settings(cfg)
            .into_iter()
            .map(|(_, lr)| (lr * factor) as f32)
            .collect();
        self.net.set_lrs(self.be, &lrs);
    }

    fn shuffle(&mut self, epoch: u32) {
        self.data.shuffle(self.be, self.seed, epoch);
        if epoch > 0 && self.recal.as_ref().is_some_and(|r| r.every_epoch) {
            self.recalibrate();
        }
    }

    fn train_len(&self) -> usize {
        self.data.train.n
    }

    fn batch(&self) -> usize {
        self.net.hyper.batch
    }

    fn step(&mut self, epoch: u32, start: usize, rows: usize) {
        let net = &mut self.net;
        self.data
            .train_batch(self.be, net.x, net.y, epoch, start, rows);
        net.forward(self.be, rows);
        net.loss(self.be, rows);
        net.backward(self.be, rows);
        net.update(self.be);
        net.program(self.be);
        self.be.flush();
        self.steps += 1;
        let every = self.recal.as_ref().map_or(0, |r| r.every_steps);
        if every > 0 && self.steps.is_multiple_of(every) {
            self.recalibrate();
        }
    }

    fn reset_acc(&mut self) {
        feed::reset_acc(self.be, self.net.acc, self.net.instances);
    }

    fn read_acc(&mut self) -> Vec<(f64, f64)> {
        feed::read_acc(self.be, self.net.acc)
    }

    fn diverged_mut(&mut self) -> &mut [Option<Divergence>] {
        &mut self.diverged
    }

    fn max_loss(&self) -> f64 {
        self.max_loss
    }

    fn test_batch(&mut self, start: usize, rows: usize) {
        let net = &self.net;
        self.data
            .plain_batch(self.be, false, (net.x, net.y), start, rows);
        net.forward(self.be, rows);
        net.loss(self.be, rows);
        self.be.flush();
    }

    fn test(&mut self) -> Vec<f64> {
        self.evaluate_all().0.into_iter().map(|(_, a)| a).collect()
    }

    fn activity(&mut self) -> Vec<crate::backend::xbar::XbarActivity> {
        Trainer::activity(self)
    }

    /// The diagnostic's extra forward pass would move batch norm's running statistics, so
    /// networks with batch norm skip it.
    fn alignment(&mut self, cfg: &ExperimentConfig) -> Option<Vec<Vec<f64>>> {
        let dfa = cfg.train.rule == Rule::Dfa && cfg.train.alignment;
        let layers = &self.net.layers;
        let bn = layers.iter().any(|lb| lb.bn.is_some());
        (dfa && layers.len() > 1 && !bn).then(|| Trainer::alignment(self))
    }

    fn save(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        Trainer::save(self, path)
    }
}
