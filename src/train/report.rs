//! The run report: what ran, on what, with which settings, and what came out.

use serde::Serialize;

use crate::backend::AdapterSummary;
use crate::config::ExperimentConfig;

#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    pub seconds: f64,
    /// DFA only: cosine similarity of the DFA and the true BP weight update, per hidden layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alignment: Option<Vec<f64>>,
    /// In-situ runs: per weight layer, the fraction of this epoch's training ADC conversions
    /// that clipped (all instances together).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adc_clipped: Vec<ClipFractions>,
}

/// Clipped fraction of one layer's ADC conversions, per read direction (0 when there were no
/// conversions in that direction).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClipFractions {
    pub forward: f64,
    pub transposed: f64,
}

/// Per layer, the clipped fraction of the conversions between two activity snapshots.
pub fn clip_fractions(
    now: &[crate::backend::XbarActivity],
    before: &[crate::backend::XbarActivity],
) -> Vec<ClipFractions> {
    let frac = |c: crate::xbar::Counters| {
        if c.adc_conversions == 0 {
            0.0
        } else {
            c.adc_clipped as f64 / c.adc_conversions as f64
        }
    };
    now.iter()
        .zip(before)
        .map(|(n, b)| {
            let d = n.minus(b);
            ClipFractions {
                forward: frac(d.forward),
                transposed: frac(d.transposed),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct FinalRecord {
    pub test_accuracy: f64,
    /// Training samples per second of training time (each sample counted once however many
    /// instances trained on it).
    pub samples_per_second: f64,
    /// Samples x instances per second.
    pub instance_samples_per_second: f64,
    /// Set when the training loss stopped being finite or passed `train.max_loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<Divergence>,
}

/// Where a run's training loss diverged: the first check that saw it, the loss being the mean
/// over the epoch's steps so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// 1-based epoch and step within it.
    pub epoch: u32,
    pub step: usize,
    pub loss: f64,
    pub reason: String,
}

/// Steps between two reads of the loss accumulators (a read waits for the backend).
pub const CHECK_EVERY: usize = 16;

impl Divergence {
    /// The divergence that `loss` (mean so far) shows at `step` of `epoch` (0-based), if any.
    pub fn check(loss: f64, max_loss: f64, epoch: u32, step: usize) -> Option<Divergence> {
        let reason = if !loss.is_finite() {
            "training loss is not finite".to_string()
        } else if loss > max_loss {
            format!("training loss passed train.max_loss = {max_loss}")
        } else {
            return None;
        };
        Some(Divergence {
            epoch: epoch + 1,
            step,
            loss,
            reason,
        })
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) at epoch {} step {}",
            self.reason, self.loss, self.epoch, self.step
        )
    }
}

/// One trained instance: its knobs and its numbers.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecord {
    pub index: usize,
    pub seed: u64,
    pub lr: f64,
    /// The device knobs this instance trained with (the `[device]` values unless its
    /// population entry overrides them); absent for float runs.
    #[serde(flatten)]
    pub knobs: Option<DeviceKnobs>,
    pub epochs: Vec<EpochRecord>,
    pub test_accuracy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<Divergence>,
}

/// The per-instance device knobs of a population entry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeviceKnobs {
    pub c2c: f64,
    pub d2d: f64,
    pub read_noise: f64,
    pub nl_ltp: f64,
    pub nl_ltd: f64,
}

impl DeviceKnobs {
    /// The knobs of population entry `inst` in `cfg` (None without a crossbar array).
    pub fn of(cfg: &ExperimentConfig, inst: &crate::config::InstanceConfig) -> Option<Self> {
        cfg.array.as_ref()?;
        let d = cfg.device.clone().unwrap_or_default();
        Some(DeviceKnobs {
            c2c: inst.c2c.unwrap_or(d.c2c),
            d2d: inst.d2d.unwrap_or(d.d2d),
            read_noise: inst.read_noise.unwrap_or(d.read_noise),
            nl_ltp: inst.nl_ltp.unwrap_or(d.nl_ltp),
            nl_ltd: inst.nl_ltd.unwrap_or(d.nl_ltd),
        })
    }
}

/// Mean and spread of one number across the instances of a population.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub mean: f64,
    /// Sample standard deviation (n - 1; 0 for one instance).
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        let n = values.len();
        if n == 0 {
            let nan = f64::NAN;
            return Stats {
                mean: nan,
                std: nan,
                min: nan,
                max: nan,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        Stats {
            mean,
            std: (squares / (n - 1).max(1) as f64).sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n,
        }
    }
}

/// A population's final numbers across its instances.
#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub test_accuracy: Stats,
    pub train_loss: Stats,
    pub train_accuracy: Stats,
}

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

/// Exit status of a run whose training diverged (1 is any other error).
pub const EXIT_DIVERGED: i32 = 3;

/// The per-epoch mean of `instances` (equal-length histories), alignment averaged per layer.
pub fn mean_epochs(instances: &[InstanceRecord]) -> Vec<EpochRecord> {
    let Some(first) = instances.first() else {
        return vec![];
    };
    let n = instances.len() as f64;
    (0..first.epochs.len())
        .map(|e| {
            let at = |f: &dyn Fn(&EpochRecord) -> f64| {
                instances.iter().map(|i| f(&i.epochs[e])).sum::<f64>() / n
            };
            let alignment = first.epochs[e].alignment.as_ref().map(|a| {
                (0..a.len())
                    .map(|l| at(&|r| r.alignment.as_ref().map_or(0.0, |v| v[l])))
                    .collect()
            });
            EpochRecord {
                epoch: first.epochs[e].epoch,
                train_loss: at(&|r| r.train_loss),
                train_accuracy: at(&|r| r.train_accuracy),
                test_accuracy: at(&|r| r.test_accuracy),
                seconds: first.epochs[e].seconds,
                alignment,
                // Counted over all instances together: the same in every instance's record.
                adc_clipped: first.epochs[e].adc_clipped.clone(),
            }
        })
        .collect()
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

    /// Sets the top-level history and the spread    /// Sets the top-level history and the spread from the instances: the mean across
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

/// Writes `value` as pretty JSON to `path` atomically (a temporary file renamed over it).
pub fn save_json<T: Serialize>(value: &T, path: &std::path::Path) -> std::io::Result<()> {
    let tmp = path.with_extension("json.partial");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}
