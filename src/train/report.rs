//! The run report: what ran, on what, with which settings, and what came out.

use serde::Serialize;

use crate::config::ExperimentConfig;
use crate::gpu::AdapterSummary;

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
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecord {
    pub index: usize,
    pub seed: u64,
    pub lr: f64,
    pub epochs: Vec<EpochRecord>,
    pub test_accuracy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub version: String,
    pub adapter: AdapterSummary,
    pub backend: String,
    pub seed: u64,
    pub config: ExperimentConfig,
    /// Instance 0's history (the whole run when there is one instance).
    pub epochs: Vec<EpochRecord>,
    #[serde(rename = "final")]
    pub final_: Option<FinalRecord>,
    /// Every instance, when a population trained.
    pub instances: Vec<InstanceRecord>,
    /// Crossbar activity per layer since the start (in-situ runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<crate::backend::XbarActivity>,
    /// The chip that runs this network: area, inference and (in-situ runs) training cost,
    /// driven by the measured activity where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::chip::ChipReport>,
    /// Set when the run stopped early; the epochs above are complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Conditions that make the results suspect (e.g. heavy ADC clipping).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The chip report of a run. The cost model never costs a run its results: a failure is
/// reported and skipped.
pub fn chip_cost(
    cfg: &ExperimentConfig,
    activity: Option<&[crate::chip::LayerActivity]>,
) -> Option<crate::chip::ChipReport> {
    match crate::chip::experiment::report(cfg, activity) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("warning: chip cost not estimated: {e:#}");
            None
        }
    }
}

impl RunReport {
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

    /// Ends an epoch: marks a diverged run, saves the report (when asked) and says whether
    /// training must stop.
    pub fn close_epoch(
        &mut self,
        epoch: u32,
        diverged: bool,
        out: Option<&std::path::Path>,
    ) -> std::io::Result<bool> {
        if diverged {
            self.stopped = Some(format!(
                "training loss is not finite after epoch {}",
                epoch + 1
            ));
        }
        if let Some(path) = out {
            self.save(path)?;
        }
        Ok(diverged)
    }

    /// Writes the report atomically (temp file + rename), so an interrupted run leaves the
    /// last complete report.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.partial");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }
}
