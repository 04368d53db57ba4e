//! From log records to plottable series: filtering, grouping, and the spread over seeds.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::{Map, Value};

use crate::sweep::log::{Record, Status};
use crate::sweep::metrics::lookup;

/// Reads the records of every result path (see [`super::sources`]); failed points are left
/// out.
pub fn load(paths: &[impl AsRef<Path>]) -> anyhow::Result<(Vec<Record>, usize)> {
    let mut ok = Vec::new();
    let mut failed = 0;
    for p in paths {
        let p = p.as_ref();
        let rs = super::sources::read_any(p).with_context(|| format!("plot: {}", p.display()))?;
        for r in rs {
            match r.status {
                Status::Ok => ok.push(r),
                Status::Failed | Status::Diverged => failed += 1,
            }
        }
    }
    if ok.is_empty() {
        bail!("plot: no finished points in the given logs ({failed} failed)");
    }
    Ok((ok, failed))
}

/// An override value (or the seed) of a record, as shown in labels.
pub fn key_value(r: &Record, key: &str) -> Option<Value> {
    if key == "seed" {
        return r.seed.map(Value::from);
    }
    r.overrides.get(key).cloned()
}

pub fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A metric by name: a recorded key, or a dotted path inside one (`cost.area_mm2` recorded,
/// `cost.area_mm2.total` asked).
pub fn metric<'a>(metrics: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = metrics.get(name) {
        return Some(v);
    }
    metrics.iter().find_map(|(k, v)| {
        name.strip_prefix(k.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| lookup(v, rest))
    })
}

/// Checks that `key` is an override of at least one record, else lists those there are.
pub fn require_key(records: &[Record], key: &str) -> anyhow::Result<()> {
    if key == "seed" || records.iter().any(|r| r.overrides.contains_key(key)) {
        return Ok(());
    }
    let mut keys: Vec<&String> = records.iter().flat_map(|r| r.overrides.keys()).collect();
    keys.sort();
    keys.dedup();
    let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    bail!(
        "plot: `{key}` is not a swept key of these results; swept keys: {}, seed",
        keys.join(", ")
    )
}

/// Keeps the records whose `key=value` filters all match.
pub fn filter(records: Vec<Record>, wheres: &[String]) -> anyhow::Result<Vec<Record>> {
    let mut out = records;
    for w in wheres {
        let Some((k, v)) = w.split_once('=') else {
            bail!("plot: --where {w}: expected key=value");
        };
        require_key(&out, k.trim())?;
        out.retain(|r| key_value(r, k.trim()).is_some_and(|x| label(&x) == v.trim()));
    }
    if out.is_empty() {
        bail!("plot: no points match --where {}", wheres.join(" --where "));
    }
    Ok(out)
}

/// Mean and spread of the values at one x.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub x: f64,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
}

/// How the spread is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Band {
    /// Minimum to maximum over the points at each x.
    MinMax,
    /// Mean plus and minus one standard deviation.
    Std,
    None,
}

pub fn stat(x: f64, ys: &[f64], band: Band) -> Stat {
    let n = ys.len();
    let mean = ys.iter().sum::<f64>() / n as f64;
    let (lo, hi) = match band {
        Band::MinMax => (
            ys.iter().copied().fold(f64::INFINITY, f64::min),
            ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
        Band::Std => {
            // Sample standard deviation across the points (seeds) at this x.
            let var = if n > 1 {
                ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1) as f64
            } else {
                0.0
            };
            (mean - var.sqrt(), mean + var.sqrt())
        }
        Band::None => (mean, mean),
    };
    Stat { x, mean, lo, hi, n }
}

/// One line of a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub stats: Vec<Stat>,
}

/// Values of `records` grouped by `group` (one series when `None`), in first-seen order.
pub fn groups<'a>(records: &'a [Record], group: Option<&str>) -> Vec<(String, Vec<&'a Record>)> {
    let mut out: Vec<(String, Vec<&Record>)> = Vec::new();
    for r in records {
        let name = group
            .map(|g| key_value(r, g).map(|v| label(&v)).unwrap_or_default())
            .unwrap_or_default();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(r),
            None => out.push((name, vec![r])),
        }
    }
    out
}

/// The (x, group) labels of a record: one plotted cell.
type Cell = (Option<String>, Option<String>);

/// Swept keys (besides the seed) that take several values among points sharing an x and a
/// group: they are folded into the band. Keys moved together with x (a paired axis) are not.
pub fn varying(records: &[Record], x: Option<&str>, group: Option<&str>) -> Vec<String> {
    let cell = |r: &Record| -> Cell {
        let v = |k: Option<&str>| k.and_then(|k| key_value(r, k)).map(|v| label(&v));
        (v(x), v(group))
    };
    let mut keys: Vec<&String> = records.iter().flat_map(|r| r.overrides.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| Some(k.as_str()) != x && Some(k.as_str()) != group)
        .filter(|k| {
            let mut first: Vec<(Cell, Option<&Value>)> = Vec::new();
            records.iter().any(|r| {
                let c = cell(r);
                let v = r.overrides.get(*k);
                match first.iter().find(|(fc, _)| *fc == c) {
                    Some((_, fv)) => *fv != v,
                    None => {
                        first.push((c, v));
                        false
                    }
                }
            })
        })
        .cloned()
        .collect()
}
