//! Population packing: points that differ only in per-instance knobs train together as one
//! population run; anything else (shapes, bits, rule, data) starts a separate job.

use anyhow::{bail, Context};

use super::expand::Point;
use super::spec::{Kind, Sweep};
use crate::config::{ExperimentConfig, InstanceConfig};

/// Keys that a population instance can carry (besides the seed): see `InstanceConfig`.
pub const PER_INSTANCE: [&str; 6] = [
    "optimizer.lr",
    "device.c2c",
    "device.d2d",
    "device.read_noise",
    "device.nl_ltp",
    "device.nl_ltd",
];

/// One run on the backend: a set of points sharing every shape-level setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub index: usize,
    /// Indices into the sweep's points, in order; their position is their instance index.
    pub points: Vec<usize>,
    /// The overrides every point of the job shares (`key=value`).
    pub shared: Vec<String>,
}

/// Groups points into jobs. The grouping depends only on the points and `max_population`,
/// never on sharding or on what already ran: a point's instance position, and with it its
/// random streams, is the same in every run of the sweep.
pub fn pack(points: &[Point], max_population: usize, kind: Kind) -> Vec<Job> {
    let cap = if kind == Kind::Cost {
        1
    } else {
        max_population
    };
    let mut groups: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    let mut by_key = std::collections::HashMap::new();
    for p in points {
        let shared: Vec<String> = p
            .overrides
            .iter()
            .filter(|(k, _)| kind == Kind::Cost || !PER_INSTANCE.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let key = shared.join("\n");
        let g = *by_key.entry(key).or_insert_with(|| {
            groups.push((shared, vec![]));
            groups.len() - 1
        });
        groups[g].1.push(p.index);
    }
    let mut jobs = Vec::new();
    for (shared, members) in groups {
        for chunk in members.chunks(cap) {
            jobs.push(Job {
                index: jobs.len(),
                points: chunk.to_vec(),
                shared: shared.clone(),
            });
        }
    }
    jobs
}

/// The point as a standalone experiment (base, `[set]`, its overrides, its seed).
pub fn point_config(
    sweep: &Sweep,
    p: &Point,
) -> Result<ExperimentConfig, crate::config::ConfigError> {
    let mut sets = sweep.fixed.clone();
    sets.extend(p.sets());
    if let Some(s) = p.seed {
        sets.push(format!("seed={s}"));
    }
    sweep.config(&sets)
}

/// The experiment one job runs: base, `[set]`, the shared overrides, and one population
/// instance per point carrying its seed and per-instance knobs.
pub fn job_config(sweep: &Sweep, job: &Job, points: &[Point]) -> anyhow::Result<ExperimentConfig> {
    let mut sets = sweep.fixed.clone();
    sets.extend(job.shared.iter().cloned());
    let mut cfg = sweep.config(&sets)?;
    if sweep.spec.kind == Kind::Cost {
        return Ok(cfg);
    }
    let base_seed = cfg.seed;
    cfg.population = job
        .points
        .iter()
        .map(|&i| instance(&points[i], base_seed))
        .collect::<anyhow::Result<_>>()?;
    cfg.validate().with_context(|| {
        format!(
            "packed run of {} points starting at {}",
            job.points.len(),
            points[job.points[0]].label()
        )
    })?;
    Ok(cfg)
}

/// A point's population entry. The seed is always explicit so that the instance does not
/// take the position-dependent default.
fn instance(p: &Point, base_seed: u64) -> anyhow::Result<InstanceConfig> {
    let mut inst = InstanceConfig {
        seed: Some(p.seed.unwrap_or(base_seed)),
        ..Default::default()
    };
    for (k, v) in &p.overrides {
        if !PER_INSTANCE.contains(&k.as_str()) {
            continue;
        }
        let Some(x) = v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) else {
            bail!("{}: `{k}` = {v}: allowed a number", p.label());
        };
        let slot = match k.as_str() {
            "optimizer.lr" => &mut inst.lr,
            "device.c2c" => &mut inst.c2c,
            "device.d2d" => &mut inst.d2d,
            "device.read_noise" => &mut inst.read_noise,
            "device.nl_ltp" => &mut inst.nl_ltp,
            _ => &mut inst.nl_ltd,
        };
        *slot = Some(x);
    }
    Ok(inst)
}
