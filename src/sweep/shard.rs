//! `--shard I/N`: the I-th of N disjoint slices of a sweep, for job arrays on a cluster.
//!
//! Slices are made of whole jobs (packed runs), so that a point runs in the same population
//! whether the sweep is sharded or not and gives the same numbers either way.

use std::str::FromStr;

use anyhow::bail;

use super::pack::Job;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based, below `count`.
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Shard> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((_, count)) if count > crate::limits::MAX_SHARDS => bail!(
                "--shard {s}: {count} shards; at most {}",
                crate::limits::MAX_SHARDS
            ),
            Some((index, count)) if count >= 1 && index < count => Ok(Shard { index, count }),
            _ => bail!(
                "--shard {s}: expected I/N with 0 <= I < N, e.g. \
                 --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with --array=0-(N-1)"
            ),
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard of every job: jobs in index order go to the shard with the fewest points so
/// far (the lowest index on ties), which depends only on the job list.
pub fn assign(jobs: &[Job], count: usize) -> Vec<usize> {
    use std::cmp::Reverse;
    // Used shards by (load, index), least first; the unused ones all have load 0 and the
    // lowest of them is `unused`, so only shards that took a job are ever stored.
    let mut heap = std::collections::BinaryHeap::new();
    let mut unused = 0usize;
    jobs.iter()
        .map(|j| {
            let (load, s) = match heap.pop() {
                Some(Reverse((l, s))) if l == 0 || unused >= count => (l, s),
                top => {
                    heap.extend(top);
                    unused += 1;
                    (0, unused - 1)
                }
            };
            heap.push(Reverse((load + j.points.len(), s)));
            s
        })
        .collect()
}

/// The jobs of `shard` (all of them when `None`).
pub fn select(jobs: &[Job], shard: Option<Shard>) -> Vec<Job> {
    match shard {
        None => jobs.to_vec(),
        Some(s) => {
            let owner = assign(jobs, s.count);
            jobs.iter()
                .zip(owner)
                .filter(|(_, o)| *o == s.index)
                .map(|(j, _)| j.clone())
                .collect()
        }
    }
}
