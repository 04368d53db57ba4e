//! `insitu sweep` and `insitu merge`.

use std::path::PathBuf;

use super::backend::BackendKind;
use crate::sweep::{self, Shard};

#[derive(clap::Args)]
pub struct SweepArgs {
    /// The sweep file (TOML; see docs/sweeps.md).
    pub spec: PathBuf,
    /// Result directory: points.jsonl (one line per finished point), points.csv, sweep.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue a sweep in --out, skipping the points already in its log.
    #[arg(long)]
    pub resume: bool,
    /// Run the I-th of N disjoint slices (0 <= I < N), e.g. for a SLURM job array.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Most points trained together in one population run (default: the sweep file's, else 64).
    #[arg(long)]
    pub max_population: Option<usize>,
    /// Stop after writing this many points, as a kill there would (to check resume).
    #[arg(long, value_name = "N")]
    pub stop_after: Option<usize>,
    /// Validate, list the packed jobs and exit.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Result directories of the shards.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Directory for the merged log and CSV.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: SweepArgs, backend: BackendKind, adapter: Option<String>) -> anyhow::Result<()> {
    let s = sweep::load(&a.spec)?;
    if a.dry_run {
        return dry_run(&s, &a);
    }
    let summary = sweep::run(
        &s,
        &sweep::Options {
            out: a.out.clone(),
            resume: a.resume,
            shard: a.shard,
            max_population: a.max_population,
            backend,
            adapter,
            stop_after: a.stop_after,
            progress: !crate::progress::quiet(),
        },
    )?;
    println!(
        "{}{}: {} points in {} jobs: {} ok, {} failed, {} already done; {:.1} s{}",
        s.name(),
        a.shard.map(|s| format!(" shard {s}")).unwrap_or_default(),
        summary.points,
        summary.jobs,
        summary.ok,
        summary.failed,
        summary.skipped,
        summary.seconds,
        if summary.stopped {
            " (stopped early; --resume finishes it)"
        } else {
            ""
        }
    );
    println!(
        "results: {} and {}",
        a.out.join(sweep::log::LOG).display(),
        a.out.join(sweep::log::CSV).display()
    );
    Ok(())
}

/// Validates and prints the points and packed jobs without running anything.
fn dry_run(s: &sweep::Sweep, a: &SweepArgs) -> anyhow::Result<()> {
    let plan = sweep::plan(s, a.max_population)?;
    let jobs = sweep::shard::select(&plan.jobs, a.shard);
    println!(
        "{}: {} points, {} jobs (max_population {}); all valid",
        s.name(),
        plan.points.len(),
        plan.jobs.len(),
        plan.max_population
    );
    for j in &jobs {
        println!(
            "job {:>4}: {:>3} points  {}",
            j.index,
            j.points.len(),
            if j.shared.is_empty() {
                "(base)".to_string()
            } else {
                j.shared.join(" ")
            }
        );
    }
    Ok(())
}

pub fn merge(a: MergeArgs) -> anyhow::Result<()> {
    let (dirs, out) = (&a.dirs, &a.out);
    let m = sweep::merge(dirs, out)?;
    println!(
        "merged {} directories: {} points ({} failed) into {}",
        dirs.len(),
        m.points,
        m.failed,
        out.display()
    );
    Ok(())
}
