//! Running an experiment: data on the backend, epochs of steps, evaluation, the report.

use std::path::PathBuf;
use std::time::Instant;

use super::augment::Augmenter;
use super::feed::{self, upload_split, Resident, ResidentSplit};
use super::init;
use super::net::{Net, NetSpec};
use super::report::{
    chip_cost, clip_fractions, Divergence, EpochRecord, FinalRecord, RunReport, CHECK_EVERY,
};
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
    train: Resident,
    test: Resident,
    perm: Buf,
    order: Buf,
    features: usize,
    /// Per-instance base learning rates (the schedule scales them).
    lr: Vec<f32>,
    augment: Option<Augmenter>,
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
        feed::check_resident(&*be, split)?;
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
        let ResidentSplit {
            train,
            test,
            perm,
            order,
        } = upload_split(be, split);
        Ok(Trainer {
            be,
            cfg: cfg.clone(),
            net,
            train,
            test,
            perm,
            order,
            features,
            lr,
            augment,
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

    fn gather(&mut self, set: &Resident, perm: Buf, start: usize, rows: usize) {
        let (x, y) = (self.net.x, self.net.y);
        feed::gather(self.be, set, perm, x, y, self.features, start, rows);
    }

    fn reset_acc(&mut self) {
        feed::reset_acc(self.be, self.net.acc, self.net.spec.instances);
    }

    /// One training step on rows [start, start + rows) of the epoch's permutation.
    fn step(&mut self, epoch: u32, start: usize, rows: usize) {
        let train = self.train;
        match &self.augment {
            Some(a) => {
                let (x, y) = (a.staging, self.net.y);
                feed::gather(self.be, &train, self.perm, x, y, self.features, start, rows);
                a.apply(self.be, self.net.x, epoch, start, rows);
            }
            None => self.gather(&train, self.perm, start, rows),
        }
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
        let steps = self.net.xbar.as_ref().map_or(0, |x| x.steps.get());
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
        let order = data::epoch_order(self.train.n, self.cfg.seed, epoch);
        self.be.write_u32(self.perm, &order);
        if epoch > 0
            && self
                .cfg
                .array
                .as_ref()
                .is_some_and(|a| a.adc_recalibrate_epoch)
        {
            self.recalibrate();
        }
        self.reset_acc();
        let b = self.net.spec.batch;
        let mut start = 0;
        let mut step = 0;
        while start < self.train.n {
            let rows = b.min(self.train.n - start);
            self.step(epoch, start, rows);
            start += rows;
            step += 1;
            bar.inc(rows as u64);
            if step % CHECK_EVERY == 0 || start == self.train.n {
                let acc = feed::read_acc(self.be, self.net.acc);
                let max = self.cfg.train.max_loss;
                for (d, (loss, _)) in self.diverged.iter_mut().zip(&acc) {
                    if d.is_none() {
                        *d = Divergence::check(*loss, max, epoch, step);
                    }
                }
                if self.diverged.iter().all(Option::is_some) {
                    return acc;
                }
            }
        }
        feed::read_acc(self.be, self.net.acc)
    }

    /// Test accuracy per instance.
    pub fn evaluate(&mut self) -> Vec<f64> {
        self.reset_acc();
        let test = self.test;
        let b = self.net.spec.batch;
        let mut start = 0;
        while start < test.n {
            let rows = b.min(test.n - start);
            self.gather(&test, self.order, start, rows);
            self.net.forward(self.be, rows);
            self.net.loss(self.be, rows);
            self.be.flush();
            start += rows;
        }
        feed::read_acc(self.be, self.net.acc)
            .into_iter()
            .map(|(_, a)| a)
            .collect()
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
        let rows = self.net.spec.batch.min(self.train.n);
        let train = self.train;
        self.gather(&train, self.order, 0, rows);
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
    let p = settings.len();
    let mut report = RunReport::start(adapter, cfg, &settings);
    let total = split.train.len() as u64 * cfg.train.epochs as u64;
    let bar = progress(opts, total);
    let mut train_seconds = 0.0;
    let mut diagnostic = vec![XbarActivity::default(); t.activity().len()];
    for epoch in 0..cfg.train.epochs {
        if !cfg.optimizer.lr_drops.is_empty() {
            t.set_lr_factor(cfg.optimizer.lr_factor(epoch, cfg.train.epochs));
        }
        bar.set_message(format!("epoch {}/{}", epoch + 1, cfg.train.epochs));
        let t0 = Instant::now();
        let at_start = t.activity();
        let train = t.train_epoch(epoch, &bar);
        let secs = t0.elapsed().as_secs_f64();
        let clipped = clip_fractions(&t.activity(), &at_start);
        if let Some(a) = &cfg.array {
            report.warn_clipping(epoch, &clipped, a.adc_clip_warning);
        }
        train_seconds += secs;
        let test = t.evaluate();
        // The alignment diagnostic reads the arrays too; its reads are not the chip's work.
        let before = t.activity();
        let align = (cfg.train.rule == Rule::Dfa && cfg.train.alignment && t.net.layers() > 1)
            .then(|| t.alignment());
        for ((d, a), b) in diagnostic.iter_mut().zip(t.activity()).zip(&before) {
            *d = d.plus(&a.minus(b));
        }
        for i in 0..p {
            report.instances[i].epochs.push(EpochRecord {
                epoch: epoch + 1,
                train_loss: train[i].0,
                train_accuracy: train[i].1,
                test_accuracy: test[i],
                seconds: secs,
                alignment: align.as_ref().map(|a| a[i].clone()),
                adc_clipped: clipped.clone(),
            });
            report.instances[i].test_accuracy = test[i];
        }
        let n = split.train.len() as f64 * (epoch + 1) as f64;
        report.final_ = Some(FinalRecord {
            test_accuracy: test[0],
            samples_per_second: n / train_seconds,
            instance_samples_per_second: n * p as f64 / train_seconds,
            diverged: None,
        });
        report.summarize();
        report.activity = t
            .activity()
            .iter()
            .zip(&diagnostic)
            .map(|(a, d)| a.minus(d))
            .collect();
        let measured = (!report.activity.is_empty())
            .then(|| crate::chip::experiment::measured(cfg, &report.activity));
        report.cost = chip_cost(cfg, measured.as_deref());
        if let Some(path) = &opts.save {
            t.save(split.train.shape, path)?;
        }
        if report.close_epoch(&t.diverged, opts.out.as_deref())? {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(report)
}
