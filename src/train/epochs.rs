//! The one epoch loop and report builder every trainer (MLP and conv) runs: the batches of an
//! epoch with the divergence check, then per epoch the learning-rate schedule, ADC clipping,
//! test accuracy, the DFA alignment diagnostic, crossbar activity, the saved model and the
//! report. A trainer supplies the steps through [`EpochHooks`].

use std::path::Path;
use std::time::Instant;

use super::options::{progress, RunOptions};
use crate::backend::xbar::XbarActivity;
use crate::config::ExperimentConfig;
use crate::report::{clip_fractions, Divergence, EpochRecord, FinalRecord, RunReport, CHECK_EVERY};

/// What a trainer does at each point of the loop. Every method is per instance where it
/// returns a list (P population chips trained at once).
pub trait EpochHooks {
    /// Before epoch `epoch`'s clock starts: the learning-rate schedule.
    fn begin_epoch(&mut self, cfg: &ExperimentConfig, epoch: u32);
    /// At the start of the epoch's batches: the sample order, and anything refreshed per
    /// epoch (ADC recalibration); then the accumulators are reset.
    fn shuffle(&mut self, epoch: u32);
    /// Training samples and the largest batch.
    fn train_len(&self) -> usize;
    fn batch(&self) -> usize;
    /// One training step on rows `[start, start + rows)` of the epoch's order.
    fn step(&mut self, epoch: u32, start: usize, rows: usize);
    /// Zeroes and reads the per-instance (loss, accuracy) accumulators.
    fn reset_acc(&mut self);
    fn read_acc(&mut self) -> Vec<(f64, f64)>;
    /// Per instance, where its loss diverged; and the bound it is checked against.
    fn diverged_mut(&mut self) -> &mut [Option<Divergence>];
    fn max_loss(&self) -> f64;
    /// Forward pass and loss of test rows `[start, start + rows)`.
    fn test_batch(&mut self, start: usize, rows: usize);
    /// Test accuracy per instance ([`test_set`] in the network's evaluation mode).
    fn test(&mut self) -> Vec<f64>;
    /// Crossbar activity of every array so far (empty in float).
    fn activity(&mut self) -> Vec<XbarActivity>;
    /// The DFA alignment diagnostic per instance and hidden layer, when the run asks for it.
    fn alignment(&mut self, _cfg: &ExperimentConfig) -> Option<Vec<Vec<f64>>> {
        None
    }
    /// Writes the trained model (and programmed cells) to `path`.
    fn save(&mut self, path: &Path) -> anyhow::Result<()>;
}

/// Trains one epoch; returns per-instance (loss, accuracy) over its batches. Stops early when
/// every instance has diverged.
pub fn train_epoch(
    t: &mut dyn EpochHooks,
    epoch: u32,
    bar: &indicatif::ProgressBar,
) -> Vec<(f64, f64)> {
    t.shuffle(epoch);
    t.reset_acc();
    let (n, b) = (t.train_len(), t.batch());
    let (mut start, mut step) = (0, 0);
    while start < n {
        let rows = b.min(n - start);
        t.step(epoch, start, rows);
        start += rows;
        step += 1;
        bar.inc(rows as u64);
        if step % CHECK_EVERY == 0 || start == n {
            let acc = t.read_acc();
            let max = t.max_loss();
            let diverged = t.diverged_mut();
            for (d, (loss, _)) in diverged.iter_mut().zip(&acc) {
                if d.is_none() {
                    *d = Divergence::check(*loss, max, epoch, step);
                }
            }
            if diverged.iter().all(Option::is_some) {
                return acc;
            }
        }
    }
    t.read_acc()
}

/// Runs the `n` test samples through `t`; returns per-instance (loss, accuracy) and the
/// number of batches.
pub fn test_set(t: &mut dyn EpochHooks, n: usize) -> (Vec<(f64, f64)>, usize) {
    t.reset_acc();
    let b = t.batch();
    let (mut start, mut batches) = (0, 0);
    while start < n {
        let rows = b.min(n - start);
        t.test_batch(start, rows);
        start += rows;
        batches += 1;
    }
    (t.read_acc(), batches)
}

/// Runs every epoch of `cfg` on `t` (`train_len` samples each), filling `report` and writing
/// it (and the model) after every epoch as `opts` asks.
pub fn run_epochs(
    t: &mut dyn EpochHooks,
    cfg: &ExperimentConfig,
    train_len: usize,
    opts: &RunOptions,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let p = report.instances.len();
    let bar = progress(opts, train_len as u64 * cfg.train.epochs as u64);
    let mut train_seconds = 0.0;
    // Reads of the alignment diagnostic are not the chip's work.
    let mut diagnostic = vec![XbarActivity::default(); t.activity().len()];
    for epoch in 0..cfg.train.epochs {
        t.begin_epoch(cfg, epoch);
        bar.set_message(format!("epoch {}/{}", epoch + 1, cfg.train.epochs));
        let t0 = Instant::now();
        let at_start = t.activity();
        let train = train_epoch(t, epoch, &bar);
        let secs = t0.elapsed().as_secs_f64();
        let clipped = clip_fractions(&t.activity(), &at_start);
        if let Some(a) = &cfg.array {
            report.warn_clipping(epoch, &clipped, a.adc_clip_warning);
        }
        train_seconds += secs;
        let test = t.test();
        let before = t.activity();
        let align = t.alignment(cfg);
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
        let n = train_len as f64 * (epoch + 1) as f64;
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
        if let Some(path) = &opts.save {
            t.save(path)?;
        }
        let diverged = t.diverged_mut().to_vec();
        if report.close_epoch(&diverged, opts.out.as_deref())? {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(())
}
