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

#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecord {
    pub index: usize,
    pub seed: u64,
    pub lr: f64,
    pub epochs: Vec<EpochRecord>,
    pub test_accuracy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<Divergence>,
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
}

/// Exit status of a run whose training diverged (1 is any other error).
pub const EXIT_DIVERGED: i32 = 3;

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

    /// Whether any instance diverged (the command then exits with [`EXIT_DIVERGED`]).
    pub fn diverged(&self) -> bool {
        self.instances.iter().any(|i| i.diverged.is_some())
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
