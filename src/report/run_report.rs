//! The run report itself: what ran, on what, with which settings, and what came out.

use serde::Serialize;

use super::clipping::ClipFractions;
use super::divergence::Divergence;
use super::json::save_json;
use super::records::{mean_epochs, DeviceKnobs, EpochRecord, FinalRecord, InstanceRecord};
use super::stats::{Spread, Stats};
use crate::backend::AdapterSummary;
use crate::config::ExperimentConfig;

/// A run's report; `C` is the chip cost a layer above training attaches (`chip::run_cost`),
/// nothing (`()`) as training returns it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport<C = ()> {
    /// Code, command, time, host, backend and adapter, configuration hash.
    pub provenance: crate::provenance::Provenance,
    pub adapter: AdapterSummary,
    pub backend: String,
    pub seed: u64,
    pub config: ExperimentConfig,
    /// Per epoch, the mean over the instances (the run itself when there is one instance).
    pub epochs: Vec<EpochRecord>,
    #[serde(rename = "final")]
    pub final_: Option<FinalRecord>,
    /// Populations: mean, std, min and max of the final numbers across instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    /// Every instance with its knobs and numbers.
    pub instances: Vec<InstanceRecord>,
    /// Crossbar activity per layer since the start (in-situ runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<crate::backend::XbarActivity>,
    /// The chip that runs this network: area, inference and (in-situ runs) training cost,
    /// driven by the measured activity where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<C>,
    /// Set when the run stopped early; the epochs above are complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Conditions that make the results suspect (e.g. heavy ADC clipping).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RunReport {
    /// An empty report of a run of `cfg` on `adapter`: one instance record per (seed, lr) of
    /// `settings`, with instance i's device knobs.
    pub fn start(adapter: AdapterSummary, cfg: &ExperimentConfig, settings: &[(u64, f64)]) -> Self {
        let instances = cfg.instances();
        RunReport {
            provenance: crate::provenance::Provenance::capture(Some(&adapter), Some(cfg)),
            backend: adapter.backend.clone(),
            adapter,
            seed: cfg.seed,
            config: cfg.clone(),
            epochs: vec![],
            final_: None,
            instances: settings
                .iter()
                .enumerate()
                .map(|(i, &(seed, lr))| InstanceRecord {
                    index: i,
                    seed,
                    lr,
                    knobs: DeviceKnobs::of(cfg, &instances[i]),
                    epochs: vec![],
                    test_accuracy: 0.0,
                    diverged: None,
                })
                .collect(),
            spread: None,
            activity: vec![],
            cost: None,
            stopped: None,
            warnings: vec![],
        }
    }

    /// The same report with the chip cost `cost`.
    pub fn with_cost<C>(self, cost: Option<C>) -> RunReport<C> {
        RunReport {
            provenance: self.provenance,
            adapter: self.adapter,
            backend: self.backend,
            seed: self.seed,
            config: self.config,
            epochs: self.epochs,
            final_: self.final_,
            spread: self.spread,
            instances: self.instances,
            activity: self.activity,
            cost,
            stopped: self.stopped,
            warnings: self.warnings,
        }
    }

    /// Sets the top-level history and the spread from the instances: the mean across
    /// instances (and, for populations, the std, min and max of the final numbers).
    pub fn summarize(&mut self) {
        self.epochs = mean_epochs(&self.instances);
        if let (Some(f), Some(last)) = (self.final_.as_mut(), self.epochs.last()) {
            f.test_accuracy = last.test_accuracy;
        }
        self.spread = (self.instances.len() > 1).then(|| {
            let last = |f: &dyn Fn(&EpochRecord) -> f64| -> Stats {
                let v: Vec<f64> = self
                    .instances
                    .iter()
                    .filter_map(|i| i.epochs.last().map(f))
                    .collect();
                Stats::of(&v)
            };
            Spread {
                test_accuracy: last(&|r| r.test_accuracy),
                train_loss: last(&|r| r.train_loss),
                train_accuracy: last(&|r| r.train_accuracy),
            }
        });
    }

    /// Adds a warning (also printed to stderr) for every layer and direction whose clipped
    /// fraction in `epoch` exceeds `bound`.
    pub fn warn_clipping(&mut self, epoch: u32, clipped: &[ClipFractions], bound: f64) {
        for (l, c) in clipped.iter().enumerate() {
            for (dir, f) in [("forward", c.forward), ("transposed", c.transposed)] {
                if f > bound {
                    let w = format!(
                        "epoch {}: layer {l} {dir} reads clipped {:.1}% of ADC conversions \
                         (bound {:.1}%, array.adc_clip_warning); consider adc_mode, adc_bits or \
                         recalibration",
                        epoch + 1,
                        100.0 * f,
                        100.0 * bound
                    );
                    eprintln!("warning: {w}");
                    self.warnings.push(w);
                }
            }
        }
    }

    /// Ends an epoch: records every instance's divergence, saves the report (when asked) and
    /// says whether training must stop (every instance diverged).
    pub fn close_epoch(
        &mut self,
        diverged: &[Option<Divergence>],
        out: Option<&std::path::Path>,
    ) -> anyhow::Result<bool> {
        for (inst, d) in self.instances.iter_mut().zip(diverged) {
            inst.diverged = d.clone();
        }
        if let Some(f) = &mut self.final_ {
            f.diverged = diverged.first().cloned().flatten();
        }
        let all = !diverged.is_empty() && diverged.iter().all(Option::is_some);
        if all {
            self.stopped = diverged[0].as_ref().map(|d| format!("diverged: {d}"));
        }
        if let Some(path) = out {
            self.save(path)
                .map_err(|e| anyhow::anyhow!("writing the report {}: {e}", path.display()))?;
        }
        Ok(all)
    }
}

impl<C: Serialize> RunReport<C> {
    /// Whether any instance diverged (the command then exits with [`EXIT_DIVERGED`]).
    pub fn diverged(&self) -> bool {
        self.instances.iter().any(|i| i.diverged.is_some())
    }

    /// Writes the report atomically, so an interrupted run leaves the last complete report.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        save_json(self, path)
    }
}
