//! Running an experiment: the data loaded and checked, then the layer-graph trainer (every
//! network, MLP or conv) or, in NeuroSim mode, the WAGE trainer.

use super::report::RunReport;
use crate::backend::Backend;
use crate::config::ExperimentConfig;
use crate::data::{self, Split};

pub use super::options::RunOptions;

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
    super::trainer::train(be, cfg, split, opts, None).map(|(r, _)| r)
}
