//! Running an experiment: data on the backend, epochs of steps, evaluation, the report.

use std::path::{Path, PathBuf};

use super::augment::Augmenter;
use super::epochs::{self, EpochHooks};
use super::feed::{self, Feeder};
use super::init;
use super::net::{Net, NetSpec};
use super::report::{Divergence, RunReport};
use crate::backend::*;
use crate::config::{ExperimentConfig, Rule};
use crate::data::{self, Split};

/// Where a run's progress goes.
#[derive(Default)]
pub struct RunOptions {
    /// Rewrite the report here after every epoch.
    pub out: Option<PathBuf>,
    /// Write the trained model (and crossbar conductances) here after every epoch.
    pub save: Option<PathBuf>,
    /// Show a progress bar (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Label printed beside the progress bar.
    pub label: String,
}

/// A progress bar over `total` samples (hidden unless asked for, and when stderr is not a
/// terminal).
pub fn progress(opts: &RunOptions, total: u64) -> indicatif::ProgressBar {
    if !opts.progress {
        return indicatif::ProgressBar::hidden();
    }
    crate::progress::bar(total, "samples", &opts.label)
}

/// Per-instance seeds and learning rates.
pub(super) fn instance_settings(cfg: &ExperimentConfig) -> Vec<(u64, f64)> {
    cfg.instances()
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            (
                inst.seed.unwrap_or(cfg.seed.wrapping_add(i as u64)),
                inst.lr.unwrap_or(cfg.optimizer.lr),
            )
        })
        .collect()
}

pub struct Trainer<'a> {
    pub be: &'a mut dyn Backend,
    pub cfg: ExperimentConfig,
    pub net: Net,
    data: Feeder,
    /// The data's image shape (of the saved model's input).
    shape: [usize; 3],
    /// Per-instance base learning rates (the schedule scales them).
    lr: Vec<f32>,
    /// Per instance: where its training loss diverged.
    pub diverged: Vec<Option<Divergence>>,
}

impl<'a> Trainer<'a> {
    pub fn new(
        be: &'a mut dyn Backend,
        cfg: &ExperimentConfig,
        split: &Split,
    ) -> anyhow::Result<Trainer<'a>> {
        let settings = instance_settings(cfg);
        let p = settings.len();
        let features = split.train.features();
        let classes = split.train.classes;
        if let Some(input) = cfg.network.input {
            anyhow::ensure!(
                input == split.train.shape,
                "network.input {input:?} differs from the data's shape {:?}",
                split.train.shape
            );
        }
        if let Some(out) = cfg.mlp_outputs() {
            anyhow::ensure!(
                out == classes,
                "network.arch {:?} ends with {out} outputs but the data has {classes} classes",
                cfg.network.arch.as_deref().unwrap_or_default()
            );
        }
        let mut sizes = vec![features];
        sizes.extend(&cfg.network.hidden);
        sizes.push(classes);
        let batch = (cfg.train.batch_size as usize).min(split.train.len().max(1));
        for (l, w) in sizes.windows(2).enumerate() {
            let what = format!("layer {} ({} x {}, {p} instances)", l + 1, w[0], w[1]);
            check_buffer(&*be, &format!("the weights of {what}"), w[0] * w[1] * p)?;
            check_buffer(&*be, &format!("the outputs of {what}"), batch * w[1] * p)?;
        }
        let weights: Vec<Vec<f32>> = (0..sizes.len() - 1)
            .map(|l| {
                settings
                    .iter()
                    .flat_map(|(seed, _)| {
                        init::weights(cfg.network.init, sizes[l], sizes[l + 1], *seed, l as u32)
                    })
                    .collect()
            })
            .collect();
        let feedback: Option<Vec<f32>> = (cfg.train.rule == Rule::Dfa).then(|| {
            settings
                .iter()
                .flat_map(|(seed, _)| {
                    init::feedback(cfg.train.feedback, &cfg.network.hidden, classes, *seed)
                })
                .collect()
        });
        let lr: Vec<f32> = settings.iter().map(|(_, lr)| *lr as f32).collect();
        let spec = NetSpec {
            sizes,
            instances: p,
            batch,
            activation: cfg.network.activation,
            loss: cfg.train.loss,
            momentum: cfg.optimizer.momentum as f32,
            weight_decay: cfg.optimizer.weight_decay as f32,
            nesterov: cfg.optimizer.nesterov,
        };
        let mut net = Net::new(be, spec, &weights, feedback.as_deref(), &lr);
        let augment = Augmenter::new(be, &cfg.data, split.train.shape, batch, cfg.seed)?;
        super::insitu::attach(
            be,
            &mut net,
            cfg,
            &weights,
            feedback.as_deref(),
            &settings,
            &split.train,
        )?;
        let mut data = Feeder::new(be, split)?;
        data.augment = augment;
        Ok(Trainer {
            be,
            cfg: cfg.clone(),
            net,
            data,
            shape: split.train.shape,
            lr,
            diverged: vec![None; p],
        })
    }

    /// Sets every instance's learning rate to its base rate times `factor`.
    pub fn set_lr_factor(&mut self, factor: f64) {
        let lr: Vec<f32> = self
            .lr
            .iter()
            .map(|l| (*l as f64 * factor) as f32)
            .collect();
        self.be.write(self.net.lr, &lr);
    }

    fn reset_acc(&mut self) {
        feed::reset_acc(self.be, self.net.acc, self.net.spec.instances);
    }

    /// One training step on rows [start, start + rows) of the epoch's permutation.
    fn step(&mut self, epoch: u32, start: usize, rows: usize) {
        let (x, y) = (self.net.x, self.net.y);
        self.data.train_batch(self.be, x, y, epoch, start, rows);
        let rule = self.cfg.train.rule;
        self.net.forward(self.be, rows);
        self.net.loss(self.be, rows);
        let layers = self.net.layers();
        let first = if self.cfg.train.last_layer_only {
            layers - 1
        } else {
            self.net.backward(self.be, rows, rule);
            0
        };
        self.net.gradients(self.be, rows, rule);
        self.net.update(self.be, first..layers);
        self.be.flush();
        let every = self
            .cfg
            .array
            .as_ref()
            .map_or(0, |a| a.adc_recalibrate_steps);
        let steps = self.net.xbar.as_ref().map_or(0, |x| x.steps.steps());
        if every > 0 && steps.is_multiple_of(every) {
            self.recalibrate();
        }
    }

    /// Recalibrates the `calibrated` ADC ranges on the arrays as they are now (when the config
    /// asks for recalibration).
    fn recalibrate(&mut self) {
        if let Some(x) = &self.net.xbar {
            if let Some(r) = &x.recalibration {
                r.run(self.be, &x.layers, x.feedback, &x.signed_inputs);
            }
        }
    }

    /// Trains one epoch; returns per-instance (loss, accuracy) on the training batches.
    pub fn train_epoch(&mut self, epoch: u32, bar: &indicatif::ProgressBar) -> Vec<(f64, f64)> {
        epochs::train_epoch(self, epoch, bar)
    }

    /// Test accuracy per instance.
    pub fn evaluate(&mut self) -> Vec<f64> {
        let n = self.data.test.n;
        let (acc, _) = epochs::test_set(self, n);
        acc.into_iter().map(|(_, a)| a).collect()
    }

    /// Crossbar activity of every weight layer so far (empty for float runs).
    pub fn activity(&mut self) -> Vec<XbarActivity> {
        let ids = self
            .net
            .xbar
            .as_ref()
            .map(|x| x.layers.clone())
            .unwrap_or_default();
        ids.iter().map(|id| self.be.xbar_activity(*id)).collect()
    }

    /// DFA's alignment: per instance and hidden layer, the cosine between the DFA and the BP
    /// weight gradients on the first training batch (weights untouched).
    pub fn alignment(&mut self) -> Vec<Vec<f64>> {
        let rows = self.net.spec.batch.min(self.data.train.n);
        let xy = (self.net.x, self.net.y);
        self.data.plain_batch(self.be, true, xy, 0, rows);
        self.net.forward(self.be, rows);
        self.net.loss(self.be, rows);
        let hidden = self.net.layers() - 1;
        let mut grads = Vec::new();
        for rule in [Rule::Bp, Rule::Dfa] {
            self.net.backward(self.be, rows, rule);
            self.net.gradients(self.be, rows, rule);
            let g: Vec<Vec<f32>> = (0..hidden).map(|l| self.be.read(self.net.gw[l])).collect();
            grads.push(g);
        }
        let p = self.net.spec.instances;
        (0..p)
            .map(|i| {
                (0..hidden)
                    .map(|l| {
                        let n = grads[0][l].len() / p;
                        cosine(
                            &grads[0][l][i * n..(i + 1) * n],
                            &grads[1][l][i * n..(i + 1) * n],
                        )
                    })
                    .collect()
            })
            .collect()
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        ab += *x as f64 * *y as f64;
        aa += *x as f64 * *x as f64;
        bb += *y as f64 * *y as f64;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// Loads the data, trains every epoch, evaluates, and returns (and optionally saves) the report.
pub fn run(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    opts: &RunOptions,
) -> anyhow::Result<RunReport> {
    let split = data::load(&cfg.data)?;
    run_on(be, cfg, &split, opts)
}

/// As [`run`], on data already loaded.
pub fn run_on(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
    opts: &RunOptions,
) -> anyhow::Result<RunReport> {
    anyhow::ensure!(
        cfg.chip.as_ref().is_none_or(|c| c.netlist.is_none()),
        "chip.netlist describes another network (it is for `insitu estimate`); a training run's \
         chip is the network it trains: remove chip.netlist"
    );
    crate::data::check_split(split)?;
    if cfg.train.mode == crate::config::TrainMode::Neurosim {
        return super::wage::run_on(be, cfg, split, opts);
    }
    if super::cnn::is_cnn(cfg) {
        return super::cnn::run_on(be, cfg, split, opts);
    }
    let settings = instance_settings(cfg);
    let adapter = be.describe();
    let mut t = Trainer::new(be, cfg, split)?;
    let mut report = RunReport::start(adapter, cfg, &settings);
    epochs::run_epochs(&mut t, cfg, split.train.len(), opts, &mut report)?;
    Ok(report)
}

impl EpochHooks for Trainer<'_> {
    fn begin_epoch(&mut self, cfg: &ExperimentConfig, epoch: u32) {
        if !cfg.optimizer.lr_drops.is_empty() {
            self.set_lr_factor(cfg.optimizer.lr_factor(epoch, cfg.train.epochs));
        }
    }

    fn shuffle(&mut self, epoch: u32) {
        self.data.shuffle(self.be, self.cfg.seed, epoch);
        if epoch > 0
            && self
                .cfg
                .array
                .as_ref()
                .is_some_and(|a| a.adc_recalibrate_epoch)
        {
            self.recalibrate();
        }
    }

    fn train_len(&self) -> usize {
        self.data.train.n
    }

    fn batch(&self) -> usize {
        self.net.spec.batch
    }

    fn step(&mut self, epoch: u32, start: usize, rows: usize) {
        Trainer::step(self, epoch, start, rows)
    }

    fn reset_acc(&mut self) {
        Trainer::reset_acc(self)
    }

    fn read_acc(&mut self) -> Vec<(f64, f64)> {
        feed::read_acc(self.be, self.net.acc)
    }

    fn diverged_mut(&mut self) -> &mut [Option<Divergence>] {
        &mut self.diverged
    }

    fn max_loss(&self) -> f64 {
        self.cfg.train.max_loss
    }

    fn test_batch(&mut self, start: usize, rows: usize) {
        let xy = (self.net.x, self.net.y);
        self.data.plain_batch(self.be, false, xy, start, rows);
        self.net.forward(self.be, rows);
        self.net.loss(self.be, rows);
        self.be.flush();
    }

    fn test(&mut self) -> Vec<f64> {
        self.evaluate()
    }

    fn activity(&mut self) -> Vec<XbarActivity> {
        Trainer::activity(self)
    }

    fn alignment(&mut self, cfg: &ExperimentConfig) -> Option<Vec<Vec<f64>>> {
        (cfg.train.rule == Rule::Dfa && cfg.train.alignment && self.net.layers() > 1)
            .then(|| Trainer::alignment(self))
    }

    fn save(&mut self, path: &Path) -> anyhow::Result<()> {
        Trainer::save(self, self.shape, path)
    }
}
