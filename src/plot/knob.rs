//! Line figures from records: a metric against a swept key, and per-epoch training curves.

use anyhow::bail;
use serde_json::Value;

use super::data::{groups, key_value, label, metric, require_key, stat, varying, Series};
use super::lines::Lines;
use super::options::{Options, Spread};
use crate::sweep::Record;

/// Accuracies are drawn in percent.
fn scale(name: &str) -> (f64, String) {
    if name.ends_with("accuracy") {
        (100.0, format!("{} (%)", name.replace('_', " ")))
    } else {
        (1.0, name.to_string())
    }
}

fn note_averaged(records: &[Record], x: Option<&str>, group: Option<&str>) {
    let v = varying(records, x, group);
    if !v.is_empty() {
        eprintln!(
            "note: also varying, folded into the band: {} (fix them with --where key=value)",
            v.join(", ")
        );
    }
}

/// A metric (default final test accuracy) against `--x`, one line per `--group`.
pub fn knob(records: &[Record], o: &Options) -> anyhow::Result<Lines> {
    let Some(x) = o.x.as_deref() else {
        bail!("plot: --kind knob needs --x KEY (a swept key)");
    };
    require_key(records, x)?;
    if let Some(g) = &o.group {
        require_key(records, g)?;
    }
    // Points that do not set x (another knob of a robustness study) have no place here.
    let with_x: Vec<Record> = records
        .iter()
        .filter(|r| key_value(r, x).is_some())
        .cloned()
        .collect();
    let records = &with_x[..];
    let y = o.y.clone().unwrap_or_else(|| "test_accuracy".into());
    let (k, y_desc) = scale(&y);
    note_averaged(records, Some(x), o.group.as_deref());
    let xs: Vec<Option<Value>> = records.iter().map(|r| key_value(r, x)).collect();
    let numeric = xs.iter().flatten().all(|v| v.is_number());
    let mut cats: Vec<String> = Vec::new();
    if !numeric {
        for v in xs.iter().flatten() {
            if !cats.contains(&label(v)) {
                cats.push(label(v));
            }
        }
    }
    let nums: Vec<f64> = xs.iter().flatten().filter_map(|v| v.as_f64()).collect();
    let (lo, hi) = nums
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let log_x = numeric && lo > 0.0 && hi / lo >= 100.0;
    let pos = |v: &Value| -> Option<f64> {
        if numeric {
            v.as_f64().map(|f| if log_x { f.log10() } else { f })
        } else {
            cats.iter().position(|c| *c == label(v)).map(|i| i as f64)
        }
    };
    let mut series = Vec::new();
    for (name, rs) in groups(records, o.group.as_deref()) {
        let mut pts: Vec<(f64, Vec<f64>)> = Vec::new();
        for r in rs {
            let (Some(xv), Some(yv)) = (
                key_value(r, x).as_ref().and_then(pos),
                metric(&r.metrics, &y).and_then(|v| v.as_f64()),
            ) else {
                continue;
            };
            match pts.iter_mut().find(|(px, _)| *px == xv) {
                Some((_, ys)) => ys.push(k * yv),
                None => pts.push((xv, vec![k * yv])),
            }
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let stats = pts.iter().map(|(x, ys)| stat(*x, ys, o.band)).collect();
        series.push(Series { name, stats });
    }
    if series.iter().all(|s| s.stats.is_empty()) {
        bail!("plot: no point has a numeric `{y}` (see the metrics in the log)");
    }
    Ok(Lines {
        title: o.title.clone().unwrap_or_else(|| format!("{y} vs {x}")),
        x_desc: x.to_string(),
        y_desc,
        series,
        x_labels: (!numeric).then_some(cats),
        log_x,
        error_bars: o.spread == Spread::Bars,
    })
}

/// Per-epoch `--y` (test_accuracy, train_accuracy or train_loss), one line per `--group`.
pub fn curves(records: &[Record], o: &Options) -> anyhow::Result<Lines> {
    let y = o.y.clone().unwrap_or_else(|| "test_accuracy".into());
    if !["test_accuracy", "train_accuracy", "train_loss"].contains(&y.as_str()) {
        bail!("plot: --kind curves: --y {y}: allowed test_accuracy, train_accuracy, train_loss");
    }
    if let Some(g) = &o.group {
        require_key(records, g)?;
    }
    if records.iter().all(|r| r.epochs.is_none()) {
        bail!("plot: the log has no per-epoch records (add \"curves\" to the sweep's metrics)");
    }
    note_averaged(records, None, o.group.as_deref());
    let (k, y_desc) = scale(&y);
    let mut series = Vec::new();
    for (name, rs) in groups(records, o.group.as_deref()) {
        let mut pts: Vec<(f64, Vec<f64>)> = Vec::new();
        for e in rs.iter().flat_map(|r| r.epochs.iter().flatten()) {
            let v = match y.as_str() {
                "test_accuracy" => e.test_accuracy,
                "train_accuracy" => e.train_accuracy,
                _ => e.train_loss,
            };
            let (Some(v), x) = (v, e.epoch as f64) else {
                continue;
            };
            match pts.iter_mut().find(|(px, _)| *px == x) {
                Some((_, ys)) => ys.push(k * v),
                None => pts.push((x, vec![k * v])),
            }
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let stats = pts.iter().map(|(x, ys)| stat(*x, ys, o.band)).collect();
        series.push(Series { name, stats });
    }
    Ok(Lines {
        title: o.title.clone().unwrap_or_else(|| format!("{y} per epoch")),
        x_desc: "epoch".into(),
        y_desc,
        series,
        x_labels: None,
        log_x: false,
        error_bars: o.spread == Spread::Bars,
    })
}
