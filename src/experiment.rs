//! Running an experiment: the data loaded and checked, then the network its `train.mode` names
//! trained on it: the layer-graph trainer (every network, MLP or conv; [`crate::train`]) or, in
//! NeuroSim mode, the WAGE network ([`crate::wage`]).

use crate::backend::Backend;
use crate::config::{ExperimentConfig, TrainMode};
use crate::data::{self, Split};
use crate::report::RunReport;

pub use crate::train::RunOptions;

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
    data::check_split(split)?;
    match cfg.train.mode {
        TrainMode::Neurosim => crate::wage::run_on(be, cfg, split, opts),
        TrainMode::Standard => {
            crate::train::trainer::train(be, cfg, split, opts, None).map(|(r, _)| r)
        }
    }
}
