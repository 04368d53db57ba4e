//! Running one job: a population run of its points, with failures kept to the points they
//! belong to.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::expand::Point;
use super::log::{Record, Status};
use super::metrics::{collect, collect_cost, Metric};
use crate::backend::Backend;
use crate::config::{ExperimentConfig, InstanceConfig};
use crate::data::Split;
use crate::train::{run_on, RunOptions, RunReport};

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

fn diverged(r: &RunReport, i: usize) -> bool {
    r.instances[i]
        .epochs
        .iter()
        .any(|e| !e.train_loss.is_finite())
}

/// Trains `members` (points, in their instance order) as one population on `cfg`.
///
/// The training loop stops every instance when one diverges; the diverged points are then
/// recorded as failed and the others rerun without them, so one unstable setting does not
/// cost its neighbours their results.
pub fn train(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    split: &Split,
    members: &[&Point],
    metrics: &[Metric],
    emit: &mut Emit,
) -> anyhow::Result<After> {
    let adapter = be.describe();
    let mut left: Vec<usize> = (0..members.len()).collect();
    let mut cfg = cfg.clone();
    let all: Vec<InstanceConfig> = cfg.population.clone();
    while !left.is_empty() {
        cfg.population = left.iter().map(|&i| all[i].clone()).collect();
        let t0 = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| {
            run_on(be, &cfg, split, &RunOptions::default())
        }));
        let per_point = t0.elapsed().as_secs_f64() / left.len() as f64;
        let stamp = |mut r: Record| {
            r.seconds = per_point;
            r.population = left.len();
            r.adapter = adapter.name.clone();
            r.backend = adapter.backend.clone();
            r
        };
        let report = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                for &i in &left {
                    let r = stamp(record(members[i], Status::Failed, Some(format!("{e:#}"))));
                    if !emit(r)? {
                        return Ok(After::Stop);
                    }
                }
                return Ok(After::Done);
            }
            Err(panic) => {
                let msg = format!("panic: {}", panic_message(panic.as_ref()));
                for &i in &left {
                    if !emit(stamp(record(members[i], Status::Failed, Some(msg.clone()))))? {
                        return Ok(After::Stop);
                    }
                }
                return Ok(After::Reopen);
            }
        };
        let bad: Vec<usize> = (0..left.len()).filter(|&j| diverged(&report, j)).collect();
        let partial = report.stopped.is_some() && !bad.is_empty() && bad.len() < left.len();
        for (j, &i) in left.iter().enumerate() {
            let p = members[i];
            let (m, epochs) = collect(metrics, &report, &report.instances[j]);
            let failed = report
                .stopped
                .as_ref()
                .filter(|_| !partial || bad.contains(&j));
            let mut r = match failed {
                Some(why) => record(p, Status::Failed, Some(format!("diverged: {why}"))),
                None if partial => continue,
                None => record(p, Status::Ok, None),
            };
            r.metrics = m;
            r.epochs = epochs;
            if !emit(stamp(r))? {
                return Ok(After::Stop);
            }
        }
        if !partial {
            break;
        }
        left = left
            .iter()
            .enumerate()
            .filter(|(j, _)| !bad.contains(j))
            .map(|(_, &i)| i)
            .collect();
    }
    Ok(After::Done)
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
