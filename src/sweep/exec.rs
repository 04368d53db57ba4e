//! Running a sweep into a result directory: resume, sharding, progress, the log and the CSV.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};

use super::log::{Record, Status, Writer, CSV, LOG};
use super::manifest::Manifest;
use super::plan::plan;
use super::runner::{self, After};
use super::shard::{select, Shard};
use super::spec::{Kind, Sweep};
use crate::backend::Backend;
use crate::data::{self, Split};
use crate::select::{open, BackendKind};

pub struct Options {
    pub out: PathBuf,
    pub resume: bool,
    pub shard: Option<Shard>,
    pub max_population: Option<usize>,
    pub backend: BackendKind,
    pub adapter: Option<String>,
    /// Stop after writing this many points (as if killed there).
    pub stop_after: Option<usize>,
    pub progress: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Points of this shard (the whole sweep when not sharded).
    pub points: usize,
    pub jobs: usize,
    /// Already in the log when the run started.
    pub skipped: usize,
    pub ok: usize,
    /// Failed points, diverged ones included.
    pub failed: usize,
    pub diverged: usize,
    /// Stopped by `stop_after` before finishing.
    pub stopped: bool,
    pub seconds: f64,
}

/// Runs (or resumes) the sweep into `opts.out`.
pub fn run(sweep: &Sweep, opts: &Options) -> anyhow::Result<Summary> {
    let t0 = Instant::now();
    let plan = plan(sweep, opts.max_population)?;
    let dir = &opts.out;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let manifest = Manifest {
        name: sweep.name(),
        hash: sweep.hash.clone(),
        max_population: plan.max_population,
        shard: opts.shard.map(|s| s.to_string()),
        version: env!("CARGO_PKG_VERSION").into(),
        provenance: crate::provenance::Provenance {
            config_hash: sweep.hash.clone(),
            ..crate::provenance::Provenance::capture(None, None::<&()>)
        },
        points: plan.points.iter().map(|p| p.id.clone()).collect(),
    };
    if dir.join(LOG).exists() {
        if !opts.resume {
            bail!(
                "{} already holds results: pass --resume to continue it, or choose another --out",
                dir.display()
            );
        }
        Manifest::read(dir)?.check_resume(&manifest, dir)?;
    }
    manifest.write(dir)?;
    std::fs::write(dir.join("sweep.toml"), &sweep.text)?;
    std::fs::write(dir.join("base.toml"), &sweep.base_text)?;

    let jobs = select(&plan.jobs, opts.shard);
    let mine: HashSet<usize> = jobs.iter().flat_map(|j| j.points.iter().copied()).collect();
    let (mut writer, mut records) = Writer::open(dir)?;
    super::verify::check_log(&records, &plan.points, &mine, &writer.path)?;
    let done: HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
    let total: usize = jobs.iter().map(|j| j.points.len()).sum();
    let skipped = jobs
        .iter()
        .flat_map(|j| &j.points)
        .filter(|&&i| done.contains(&plan.points[i].id))
        .count();
    let bar = progress_bar(opts.progress, total as u64, skipped as u64);
    let mut summary = Summary {
        points: total,
        jobs: jobs.len(),
        skipped,
        ok: 0,
        failed: 0,
        diverged: 0,
        stopped: false,
        seconds: 0.0,
    };
    let mut be: Option<Box<dyn Backend>> = None;
    let mut splits: HashMap<String, Split> = HashMap::new();
    let mut written = 0usize;

    for job in &jobs {
        let members: Vec<_> = job.points.iter().map(|&i| &plan.points[i]).collect();
        if members.iter().all(|p| done.contains(&p.id)) {
            continue;
        }
        let cfg = &plan.configs[job.index];
        let tj = Instant::now();
        let mut fresh = Vec::new();
        // A job cut short earlier reruns whole (same population, same numbers); only the
        // points missing from the log are written.
        let mut emit = |r: Record| -> anyhow::Result<bool> {
            if done.contains(&r.id) {
                return Ok(true);
            }
            writer.append(&r)?;
            bar.inc(1);
            written += 1;
            fresh.push(r);
            Ok(opts.stop_after.is_none_or(|n| written < n))
        };
        let after = if sweep.spec.kind == Kind::Cost {
            let mut after = After::Done;
            for p in &members {
                if !emit(runner::cost(cfg, p, &plan.metrics))? {
                    after = After::Stop;
                    break;
                }
            }
            after
        } else {
            let key = serde_json::to_string(&cfg.data)?;
            if !splits.contains_key(&key) {
                match data::load(&cfg.data) {
                    Ok(s) => {
                        splits.insert(key.clone(), s);
                    }
                    Err(e) => {
                        let msg = format!("loading data: {e}");
                        let mut after = After::Done;
                        for p in &members {
                            if !emit(runner::record(p, Status::Failed, Some(msg.clone())))? {
                                after = After::Stop;
                                break;
                            }
                        }
                        finish(&mut summary, &mut records, fresh);
                        if matches!(after, After::Stop) {
                            summary.stopped = true;
                            break;
                        }
                        continue;
                    }
                }
            }
            if be.is_none() {
                be = Some(open(opts.backend, opts.adapter.clone())?);
            }
            let backend = be.as_mut().expect("backend opened above").as_mut();
            // Each job frees what it allocated, so one backend serves the whole sweep.
            let mark = backend.mark();
            let after = runner::train(
                backend,
                cfg,
                &splits[&key],
                &members,
                &plan.metrics,
                &mut emit,
            )?;
            backend.release(mark);
            after
        };
        let n = fresh.len();
        finish(&mut summary, &mut records, fresh);
        if !bar.is_hidden() {
            bar.set_message(format!("job {}/{}", job.index + 1, plan.jobs.len()));
        } else if opts.progress && sweep.spec.kind == Kind::Train {
            // Cluster logs: one line per job instead of a bar.
            eprintln!(
                "job {}/{}: {n} points in {:.1} s; {} of {total} points done",
                job.index + 1,
                plan.jobs.len(),
                tj.elapsed().as_secs_f64(),
                summary.skipped + summary.ok + summary.failed
            );
        }
        super::csv::write(&dir.join(CSV), &sorted(&records))?;
        match after {
            After::Done => {}
            After::Reopen => be = None,
            After::Stop => {
                summary.stopped = true;
                break;
            }
        }
    }
    bar.finish_and_clear();
    super::csv::write(&dir.join(CSV), &sorted(&records))?;
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

fn finish(summary: &mut Summary, records: &mut Vec<Record>, fresh: Vec<Record>) {
    for r in fresh {
        match r.status {
            Status::Ok => summary.ok += 1,
            Status::Failed => summary.failed += 1,
            Status::Diverged => {
                summary.failed += 1;
                summary.diverged += 1;
            }
        }
        records.push(r);
    }
}

/// Records in point order.
pub fn sorted(records: &[Record]) -> Vec<Record> {
    let mut v = records.to_vec();
    v.sort_by_key(|r| r.index);
    v
}

fn progress_bar(wanted: bool, total: u64, done: u64) -> indicatif::ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(total);
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} points  {per_sec}  eta {eta}  {msg}",
        )
        .expect("progress template"),
    );
    b.set_position(done);
    b.reset_eta();
    b
}
