//! Running one job: a population run of its points, with failures kept to the points they
//! belong to.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::expand::Point;
use super::log::{Record, Status};
use super::metrics::{collect, collect_cost, Metric};
use crate::backend::Backend;
use crate::chip::run_cost::{run_cost, CostedRun};
use crate::config::ExperimentConfig;
use crate::data::Split;
use crate::experiment::{run_on, RunOptions};

/// Where records go as they finish; `false` asks the sweep to stop.
pub type Emit<'a> = dyn FnMut(Record) -> anyhow::Result<bool> + 'a;

/// How a job ended for the backend.
pub enum After {
    /// All points recorded; the backend can be reused.
    Done,
    /// The emitter asked to stop.
    Stop,
    /// A panic escaped the run: the backend's state is unknown and it should be reopened.
    Reopen,
}

pub fn record(p: &Point, status: Status, error: Option<String>) -> Record {
    Record {
        id: p.id.clone(),
        index: p.index,
        overrides: p
            .overrides
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
            .collect(),
        seed: p.seed,
        status,
        error,
        metrics: Default::default(),
        epochs: None,
        seconds: 0.0,
        population: 0,
        adapter: String::new(),
        backend: String::new(),
        version: env!("CARGO_PKG_VERSION").into(),
        commit: crate::provenance::COMMIT.into(),
    }
}

fn panic_message(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Trains `members` (points, in their instance order) as one population on `cfg`.
///
/// Instances train independently: one whose loss diverges is recorded as diverged (with the
/// epoch and step) while the others train on and are recorded as usual.
pub fn train(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
    members: &[&Point],
    metrics: &[Metric],
    emit: &mut Emit,
) -> anyhow::Result<After> {
    let adapter = be.describe();
    let t0 = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        run_on(be, cfg, split, &RunOptions::default()).map(run_cost)
    }));
    let per_point = t0.elapsed().as_secs_f64() / members.len().max(1) as f64;
    let stamp = |mut r: Record| {
        r.seconds = per_point;
        r.population = members.len();
        r.adapter = adapter.name.clone();
        r.backend = adapter.backend.clone();
        r
    };
    let (report, after): (CostedRun, After) = match result {
        Ok(Ok(r)) => (r, After::Done),
        Ok(Err(e)) => {
            for p in members {
                if !emit(stamp(record(p, Status::Failed, Some(format!("{e:#}")))))? {
                    return Ok(After::Stop);
                }
            }
            return Ok(After::Done);
        }
        Err(panic) => {
            let msg = format!("panic: {}", panic_message(panic.as_ref()));
            for p in members {
                if !emit(stamp(record(p, Status::Failed, Some(msg.clone()))))? {
                    return Ok(After::Stop);
                }
            }
            return Ok(After::Reopen);
        }
    };
    for (j, p) in members.iter().enumerate() {
        let inst = &report.instances[j];
        let (m, epochs) = collect(metrics, &report, inst);
        let mut r = match &inst.diverged {
            Some(d) => record(p, Status::Diverged, Some(format!("diverged: {d}"))),
            None => record(p, Status::Ok, None),
        };
        r.metrics = m;
        r.epochs = epochs;
        if !emit(stamp(r))? {
            return Ok(After::Stop);
        }
    }
    Ok(after)
}

/// A `kind = "cost"` point: the chip report alone.
pub fn cost(cfg: &ExperimentConfig, p: &Point, metrics: &[Metric]) -> Record {
    let t0 = Instant::now();
    let mut r = match crate::chip::experiment::report(cfg, None) {
        Ok(rep) => {
            let mut r = record(p, Status::Ok, None);
            r.metrics = collect_cost(metrics, &rep);
            r
        }
        Err(e) => record(p, Status::Failed, Some(format!("{e:#}"))),
    };
    r.seconds = t0.elapsed().as_secs_f64();
    r.population = 1;
    r.adapter = "cost model".into();
    r.backend = "none".into();
    r
}
