//! `--resume` checks the log it continues: every record must be a point of this sweep (and of
//! this shard), once, with the overrides and seed of that point. Anything else means the
//! directory was edited or mixed with another run, and resuming would mix results silently.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::bail;

use super::expand::Point;
use super::log::Record;
use super::runner::record;

/// Records listed per kind of problem (the rest are counted).
const SHOWN: usize = 20;

fn listing(what: &str, items: &[String]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut s = format!("{} {what}: ", items.len());
    s.push_str(
        &items
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
    );
    if items.len() > SHOWN {
        s.push_str(&format!(", ... ({} more)", items.len() - SHOWN));
    }
    Some(s)
}

/// Checks `records` (from `log`) against the sweep's `points`; `mine` holds the indices of the
/// points this run (shard) owns.
pub fn check_log(
    records: &[Record],
    points: &[Point],
    mine: &HashSet<usize>,
    log: &Path,
) -> anyhow::Result<()> {
    let by_id: HashMap<&str, &Point> = points.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    let (mut foreign, mut other_shard, mut corrupt) = (vec![], vec![], vec![]);
    for (line, r) in records.iter().enumerate() {
        *count.entry(r.id.as_str()).or_default() += 1;
        let at = format!("{} (line {})", r.id, line + 1);
        match by_id.get(r.id.as_str()) {
            None => foreign.push(at),
            Some(p) if !mine.contains(&p.index) => other_shard.push(at),
            Some(p) => {
                let want = record(p, r.status, None);
                if r.index != p.index || r.seed != p.seed || r.overrides != want.overrides {
                    corrupt.push(format!("{at} does not match {}", p.label()));
                }
            }
        }
    }
    let mut dup: Vec<String> = count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, n)| format!("{id} ({n} times)"))
        .collect();
    dup.sort();
    let problems: Vec<String> = [
        listing("records of points not in this sweep", &foreign),
        listing("records of points of another shard", &other_shard),
        listing("duplicated points", &dup),
        listing("records whose fields differ from their point", &corrupt),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !problems.is_empty() {
        bail!(
            "{}: cannot resume from this log: {}; restore the log or start again in a new --out",
            log.display(),
            problems.join("; ")
        );
    }
    Ok(())
}
