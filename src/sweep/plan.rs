//! Everything decided before anything runs: points, their validation, jobs, metrics.

use anyhow::{bail, Context};

use super::expand::{expand, Point};
use super::metrics::{parse_all, Metric};
use super::pack::{job_config, pack, point_config, Job};
use super::spec::{Kind, Sweep};
use crate::config::ExperimentConfig;

pub struct Plan {
    pub points: Vec<Point>,
    pub jobs: Vec<Job>,
    /// The experiment each job runs (parallel to `jobs`).
    pub configs: Vec<ExperimentConfig>,
    pub metrics: Vec<Metric>,
    pub max_population: usize,
}

/// Invalid points listed in one error (the rest are counted).
const SHOWN: usize = 20;

/// Expands and validates the whole sweep: every point as a standalone experiment, then every
/// packed run. Errors name the point and the key.
pub fn plan(sweep: &Sweep, max_population: Option<usize>) -> anyhow::Result<Plan> {
    let origin = sweep.base_path.display().to_string();
    let base = sweep
        .config(&sweep.fixed)
        .with_context(|| format!("{}: base with [set]", sweep.path.display()))?;
    if !base.population.is_empty() {
        bail!(
            "{origin}: the base experiment has a population; a sweep makes its own from its \
             points (remove `population` and sweep seeds or knobs instead)"
        );
    }
    let points = expand(sweep)?;
    let mut errors: Vec<String> = points
        .iter()
        .filter_map(|p| {
            point_config(sweep, p)
                .err()
                .map(|e| format!("{}: {e}", p.label()))
        })
        .collect();
    report(&errors, points.len(), sweep)?;
    if max_population == Some(0) {
        bail!("--max-population 0: allowed 1 or more");
    }
    let max_population = max_population.unwrap_or(sweep.spec.max_population);
    let jobs = pack(&points, max_population, sweep.spec.kind);
    let mut configs = Vec::with_capacity(jobs.len());
    for j in &jobs {
        match job_config(sweep, j, &points) {
            Ok(c) => configs.push(c),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    report(&errors, points.len(), sweep)?;
    let trains = sweep.spec.kind == Kind::Train;
    let metrics = parse_all(
        &sweep.spec.metrics,
        configs.first().unwrap_or(&base),
        trains,
    )
    .with_context(|| format!("{}: metrics", sweep.path.display()))?;
    Ok(Plan {
        points,
        jobs,
        configs,
        metrics,
        max_population,
    })
}

fn report(errors: &[String], total: usize, sweep: &Sweep) -> anyhow::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "{}: {} of {total} points are invalid; nothing ran:\n",
        sweep.path.display(),
        errors.len()
    );
    for e in errors.iter().take(SHOWN) {
        msg.push_str(&format!("  {e}\n"));
    }
    if errors.len() > SHOWN {
        msg.push_str(&format!("  ... and {} more\n", errors.len() - SHOWN));
    }
    bail!("{}", msg.trim_end())
}
