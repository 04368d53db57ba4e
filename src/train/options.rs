//! What a run is told besides its config: where its report and model go, the progress bar,
//! and each population instance's seed and learning rate.

use std::path::PathBuf;

use crate::config::ExperimentConfig;

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
pub fn instance_settings(cfg: &ExperimentConfig) -> Vec<(u64, f64)> {
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
