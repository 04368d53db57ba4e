//! A population of WAGE networks on the shared epoch loop ([`epochs::run_epochs`]), through
//! [`EpochHooks`] as every trainer runs it; `--save` writes instance 0 as
//! [`WageMlp::to_model`].

use std::path::Path;

use super::mlp::WageMlp;
use crate::backend::xbar::XbarActivity;
use crate::backend::Backend;
use crate::config::ExperimentConfig;
use crate::data::{self, Split};
use crate::report::{Divergence, RunReport};
use crate::train::epochs::{self, EpochHooks};
use crate::train::options::{instance_settings, RunOptions};

/// A population of WAGE networks on one data split, as the shared epoch loop drives it: every
/// instance trains on its own seed (initialisation, data order, rounding and noise draws), as
/// a separate run would.
struct WageRun<'d> {
    nets: Vec<WageMlp>,
    settings: Vec<(u64, f64)>,
    split: &'d Split,
    batch: usize,
    /// Per instance: this epoch's sample order.
    orders: Vec<Vec<u32>>,
    /// Per instance: summed loss and correct count since the last reset, over `seen` samples.
    acc: Vec<(f64, usize)>,
    seen: usize,
    diverged: Vec<Option<Divergence>>,
    max_loss: f64,
}

impl EpochHooks for WageRun<'_> {
    fn begin_epoch(&mut self, cfg: &ExperimentConfig, epoch: u32) {
        let factor = cfg.optimizer.lr_factor(epoch, cfg.train.epochs);
        for (net, (_, lr)) in self.nets.iter_mut().zip(&self.settings) {
            net.lr = (lr * factor) as f32;
        }
    }

    fn shuffle(&mut self, epoch: u32) {
        let n = self.split.train.len();
        for (i, net) in self.nets.iter_mut().enumerate() {
            self.orders[i] = data::epoch_order(n, self.settings[i].0, epoch);
            net.reset_velocity();
        }
    }

    fn train_len(&self) -> usize {
        self.split.train.len()
    }

    fn batch(&self) -> usize {
        self.batch
    }

    fn step(&mut self, _epoch: u32, start: usize, rows: usize) {
        let set = &self.split.train;
        let f = set.features();
        for ((net, order), a) in self.nets.iter_mut().zip(&self.orders).zip(&mut self.acc) {
            let idx = &order[start..start + rows];
            let mut x = Vec::with_capacity(rows * f);
            let mut y = Vec::with_capacity(rows);
            for &i in idx {
                x.extend_from_slice(set.image(i as usize));
                y.push(set.labels[i as usize]);
            }
            let (l, c) = net.step(&x, &y);
            a.0 += l;
            a.1 += c;
        }
        self.seen += rows;
    }

    fn reset_acc(&mut self) {
        self.acc.fill((0.0, 0));
        self.seen = 0;
    }

    fn read_acc(&mut self) -> Vec<(f64, f64)> {
        let n = self.seen.max(1) as f64;
        self.acc
            .iter()
            .map(|(l, c)| (l / n, *c as f64 / n))
            .collect()
    }

    fn diverged_mut(&mut self) -> &mut [Option<Divergence>] {
        &mut self.diverged
    }

    fn max_loss(&self) -> f64 {
        self.max_loss
    }

    fn test_batch(&mut self, start: usize, rows: usize) {
        let set = &self.split.test;
        let f = set.features();
        let x = &set.images[start * f..(start + rows) * f];
        let y = &set.labels[start..start + rows];
        for (net, a) in self.nets.iter().zip(&mut self.acc) {
            let (l, c) = net.evaluate(x, y);
            a.0 += l;
            a.1 += c;
        }
        self.seen += rows;
    }

    fn test(&mut self) -> Vec<f64> {
        let n = self.split.test.len();
        epochs::test_set(self, n).0.iter().map(|a| a.1).collect()
    }

    fn activity(&mut self) -> Vec<XbarActivity> {
        Vec::new()
    }

    fn save(&mut self, path: &Path) -> anyhow::Result<()> {
        let model = self.nets[0].to_model(self.split.train.shape);
        crate::model_io::save_with_cells(&model, &[], path)
    }
}

/// Runs a `train.mode = "neurosim"` experiment on loaded data on the shared epoch loop
/// ([`epochs::run_epochs`]); `--save` writes instance 0 as [`WageMlp::to_model`].
pub fn run_on(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
    opts: &RunOptions,
) -> anyhow::Result<RunReport> {
    let adapter = be.describe();
    anyhow::ensure!(
        adapter.backend == "cpu",
        "train.mode = \"neurosim\" runs on the CPU backend only (its quantizers and update law \
         have no GPU kernels): run with --backend cpu"
    );
    let mut sizes = vec![split.train.features()];
    sizes.extend(&cfg.network.hidden);
    sizes.push(split.train.classes);
    let settings = instance_settings(cfg);
    let p = settings.len();
    let mut run = WageRun {
        nets: settings
            .iter()
            .map(|(seed, lr)| WageMlp::new(cfg, sizes.clone(), *seed, *lr))
            .collect(),
        split,
        batch: (cfg.train.batch_size as usize).min(split.train.len().max(1)),
        orders: vec![Vec::new(); p],
        acc: vec![(0.0, 0); p],
        seen: 0,
        diverged: vec![None; p],
        max_loss: cfg.train.max_loss,
        settings,
    };
    let mut report = RunReport::start(adapter, cfg, &run.settings);
    epochs::run_epochs(&mut run, cfg, split.train.len(), opts, &mut report)?;
    Ok(report)
}
