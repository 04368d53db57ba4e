//! `insitu merge`: joins shard directories into one result, checking every point of the sweep
//! is there exactly once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::bail;

use super::log::{read, Record, CSV, LOG};
use super::manifest::Manifest;

#[derive(Debug, Clone, PartialEq)]
pub struct MergeSummary {
    pub points: usize,
    pub failed: usize,
}

/// Ids listed in an error (the rest are counted).
const SHOWN: usize = 20;

fn listing(ids: &[String]) -> String {
    let mut s = ids
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        s.push_str(&format!(", ... ({} more)", ids.len() - SHOWN));
    }
    s
}

/// Merges `dirs` into `out` (log, CSV, manifest without a shard).
pub fn merge(dirs: &[PathBuf], out: &Path) -> anyhow::Result<MergeSummary> {
    if dirs.is_empty() {
        bail!("merge: give at least one result directory");
    }
    let manifests: Vec<Manifest> = dirs
        .iter()
        .map(|d| Manifest::read(d))
        .collect::<anyhow::Result<_>>()?;
    let first = &manifests[0];
    for (d, m) in dirs.iter().zip(&manifests).skip(1) {
        if m.hash != first.hash {
            bail!(
                "{} holds a different sweep than {} (sweep hash {} vs {})",
                d.display(),
                dirs[0].display(),
                m.hash,
                first.hash
            );
        }
    }
    let mut records: Vec<Record> = Vec::new();
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for d in dirs {
        let (rs, _) = read(&d.join(LOG))?;
        for r in rs {
            seen.entry(r.id.clone())
                .or_default()
                .push(d.display().to_string());
            records.push(r);
        }
    }
    let expected: std::collections::HashSet<&String> = first.points.iter().collect();
    let missing: Vec<String> = first
        .points
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .cloned()
        .collect();
    let mut duplicates: Vec<String> = seen
        .iter()
        .filter(|(_, where_)| where_.len() > 1)
        .map(|(id, where_)| format!("{id} (in {})", where_.join(", ")))
        .collect();
    duplicates.sort();
    let mut unknown: Vec<String> = seen
        .keys()
        .filter(|id| !expected.contains(id))
        .cloned()
        .collect();
    unknown.sort();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "{} missing points: {}",
            missing.len(),
            listing(&missing)
        ));
    }
    if !duplicates.is_empty() {
        problems.push(format!(
            "{} duplicate points: {}",
            duplicates.len(),
            listing(&duplicates)
        ));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "{} points not in the sweep: {}",
            unknown.len(),
            listing(&unknown)
        ));
    }
    if !problems.is_empty() {
        bail!(
            "merge of {} directories into {}: {}",
            dirs.len(),
            out.display(),
            problems.join("; ")
        );
    }
    records.sort_by_key(|r| r.index);
    std::fs::create_dir_all(out)?;
    if out.join(LOG).exists() {
        bail!(
            "{} already holds a log; merge into an empty directory",
            out.display()
        );
    }
    let mut text = Vec::new();
    for r in &records {
        serde_json::to_writer(&mut text, r)?;
        text.push(b'\n');
    }
    std::fs::write(out.join(LOG), text)?;
    super::csv::write(&out.join(CSV), &records)?;
    Manifest {
        shard: None,
        ..first.clone()
    }
    .write(out)?;
    for f in ["sweep.toml", "base.toml"] {
        if dirs[0].join(f).exists() {
            std::fs::copy(dirs[0].join(f), out.join(f))?;
        }
    }
    Ok(MergeSummary {
        points: records.len(),
        failed: records
            .iter()
            .filter(|r| r.status != super::log::Status::Ok)
            .count(),
    })
}
