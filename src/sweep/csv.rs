//! The CSV next to the log: one row per point, one column per override and per metric leaf,
//! readable by `pandas.read_csv` as is.

use std::path::Path;

use serde_json::{Map, Value};

use super::log::{Record, Status};

/// Nested objects become dotted columns; arrays stay one JSON-valued cell.
fn flatten(prefix: &str, m: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (k, v) in m {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => flatten(&key, inner, out),
            _ => out.push((key, v.clone())),
        }
    }
}

fn cell(v: &Value) -> String {
    let s = match v {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn push_unique(cols: &mut Vec<String>, k: &str) {
    if !cols.iter().any(|c| c == k) {
        cols.push(k.to_string());
    }
}

/// A record's cells by column name.
type Cells = Vec<(String, Value)>;

/// CSV text of `records` (rows in the given order).
pub fn render(records: &[Record]) -> String {
    let mut over_cols = Vec::new();
    let mut metric_cols = Vec::new();
    let rows: Vec<(Cells, Cells)> = records
        .iter()
        .map(|r| {
            let mut o = Vec::new();
            flatten("", &r.overrides, &mut o);
            let mut m = Vec::new();
            flatten("", &r.metrics, &mut m);
            for (k, _) in &o {
                push_unique(&mut over_cols, k);
            }
            for (k, _) in &m {
                push_unique(&mut metric_cols, k);
            }
            (o, m)
        })
        .collect();
    let fixed_head = ["id", "index", "status"];
    let tail = [
        "seconds",
        "population",
        "adapter",
        "backend",
        "version",
        "commit",
        "error",
    ];
    let mut header: Vec<String> = fixed_head.iter().map(|s| s.to_string()).collect();
    header.extend(over_cols.iter().cloned());
    header.push("seed".into());
    header.extend(metric_cols.iter().cloned());
    header.extend(tail.iter().map(|s| s.to_string()));
    let mut out = header
        .iter()
        .map(|h| cell(&Value::String(h.clone())))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for (r, (o, m)) in records.iter().zip(&rows) {
        let get = |list: &[(String, Value)], k: &str| {
            list.iter()
                .find(|(c, _)| c == k)
                .map(|(_, v)| cell(v))
                .unwrap_or_default()
        };
        let mut cells = vec![
            r.id.clone(),
            r.index.to_string(),
            match r.status {
                Status::Ok => "ok".into(),
                Status::Failed => "failed".into(),
                Status::Diverged => "diverged".into(),
            },
        ];
        cells.extend(over_cols.iter().map(|k| get(o, k)));
        cells.push(r.seed.map(|s| s.to_string()).unwrap_or_default());
        cells.extend(metric_cols.iter().map(|k| get(m, k)));
        cells.push(format!("{}", r.seconds));
        cells.push(r.population.to_string());
        for s in [&r.adapter, &r.backend, &r.version, &r.commit] {
            cells.push(cell(&Value::String(s.clone())));
        }
        cells.push(
            r.error
                .as_ref()
                .map(|e| cell(&Value::String(e.clone())))
                .unwrap_or_default(),
        );
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Writes the CSV atomically (temp file + rename).
pub fn write(path: &Path, records: &[Record]) -> std::io::Result<()> {
    let tmp = path.with_extension("csv.partial");
    std::fs::write(&tmp, render(records))?;
    std::fs::rename(tmp, path)
}
