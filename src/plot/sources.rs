//! What `insitu plot` reads, as point records: a sweep's log (`points.jsonl`) or CSV
//! (`points.csv`), and the robustness study's `robustness.json` / `robustness.csv`. A study
//! point becomes a record whose override is its knob (e.g. `c2c = 0.01`) and `train.rule`.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::{Map, Value};

use crate::sweep::id::fnv1a64;
use crate::sweep::log::{read, Record, Status, CSV, LOG};

pub const ROBUSTNESS_JSON: &str = "robustness.json";
pub const ROBUSTNESS_CSV: &str = "robustness.csv";

/// The records of one result path (a directory or a file).
pub fn read_any(p: &Path) -> anyhow::Result<Vec<Record>> {
    let file = if p.is_dir() {
        let found = [LOG, ROBUSTNESS_JSON, CSV, ROBUSTNESS_CSV]
            .iter()
            .map(|f| p.join(f))
            .find(|f| f.exists());
        match found {
            Some(f) => f,
            None => bail!(
                "{}: no {LOG}, {CSV} (insitu sweep) or {ROBUSTNESS_JSON}, {ROBUSTNESS_CSV} \
                 (insitu robustness) in this directory",
                p.display()
            ),
        }
    } else {
        p.to_path_buf()
    };
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "csv" => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            from_csv(&text).with_context(|| file.display().to_string())
        }
        "json" => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let v: Value = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", file.display()))?;
            robustness_json(&v).with_context(|| file.display().to_string())
        }
        _ => Ok(read(&file)?.0),
    }
}

/// Splits CSV text into rows of cells (RFC 4180 quoting).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// A CSV cell as a JSON value: numbers, booleans and JSON arrays as such, else a string.
fn value(cell: &str) -> Value {
    match serde_json::from_str::<Value>(cell) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Array(_))) => v,
        _ => Value::String(cell.to_string()),
    }
}

/// Records of a sweep's `points.csv` (overrides between `status` and `seed`, metrics between
/// `seed` and `seconds`) or of a study's `robustness.csv`.
pub fn from_csv(text: &str) -> anyhow::Result<Vec<Record>> {
    let rows = csv_rows(text);
    let Some((head, body)) = rows.split_first() else {
        bail!("empty CSV");
    };
    let col = |name: &str| head.iter().position(|h| h == name);
    if let (Some(c), Some(r), Some(sd), Some(a)) = (
        col("condition"),
        col("rule"),
        col("seed"),
        col("test_accuracy"),
    ) {
        return Ok(body
            .iter()
            .enumerate()
            .filter(|(_, row)| row.len() == head.len())
            .map(|(i, row)| {
                let mut r = study_record(i, "condition", &row[c], &row[r], value(&row[a]));
                r.seed = row[sd].parse().ok();
                r.id = format!("{}-{}", r.id, row[sd]);
                r
            })
            .collect());
    }
    if let (Some(k), Some(v), Some(r), Some(a)) =
        (col("knob"), col("value"), col("rule"), col("test_accuracy"))
    {
        return Ok(body
            .iter()
            .enumerate()
            .filter(|(_, row)| row.len() == head.len())
            .map(|(i, row)| study_record(i, &row[k], &row[v], &row[r], value(&row[a])))
            .collect());
    }
    let (Some(status), Some(seed), Some(seconds)) = (col("status"), col("seed"), col("seconds"))
    else {
        bail!(
            "not a sweep CSV (id, index, status, overrides, seed, metrics, seconds, ...) nor a \
             robustness CSV (rule, condition, seed, test_accuracy)"
        );
    };
    let mut out = Vec::new();
    for (i, row) in body.iter().enumerate() {
        if row.len() != head.len() {
            bail!(
                "row {}: {} cells, the header has {}",
                i + 2,
                row.len(),
                head.len()
            );
        }
        let map = |range: std::ops::Range<usize>| -> Map<String, Value> {
            range
                .filter(|&c| !row[c].is_empty())
                .map(|c| (head[c].clone(), value(&row[c])))
                .collect()
        };
        let get = |name: &str| col(name).map(|c| row[c].clone()).unwrap_or_default();
        out.push(Record {
            id: get("id"),
            index: get("index").parse().unwrap_or(i),
            overrides: map(status + 1..seed),
            seed: row[seed].parse().ok(),
            status: if row[status] == "failed" {
                Status::Failed
            } else {
                Status::Ok
            },
            error: Some(get("error")).filter(|e| !e.is_empty()),
            metrics: map(seed + 1..seconds),
            epochs: None,
            seconds: row[seconds].parse().unwrap_or(0.0),
            population: get("population").parse().unwrap_or(1),
            adapter: get("adapter"),
            backend: get("backend"),
            version: get("version"),
            commit: get("commit"),
        });
    }
    Ok(out)
}

/// One robustness point as a record: override `<knob> = value` and `train.rule`.
fn study_record(index: usize, knob: &str, v: &str, rule: &str, accuracy: Value) -> Record {
    let mut overrides = Map::new();
    overrides.insert(knob.to_string(), value(v));
    overrides.insert("train.rule".into(), Value::String(rule.to_string()));
    let mut metrics = Map::new();
    metrics.insert("test_accuracy".into(), accuracy);
    Record {
        id: format!("{:016x}", fnv1a64(format!("{knob}={v};{rule}").as_bytes())),
        index,
        overrides,
        seed: None,
        status: Status::Ok,
        error: None,
        metrics,
        epochs: None,
        seconds: 0.0,
        population: 1,
        adapter: String::new(),
        backend: String::new(),
        version: String::new(),
        commit: String::new(),
    }
}

/// Records of a study's `robustness.json` (`{"points": [{rule, condition, seed,
/// test_accuracy}]}`, override `condition`; or the older `{knob, value, rule, test_accuracy}`).
pub fn robustness_json(v: &Value) -> anyhow::Result<Vec<Record>> {
    let Some(points) = v.get("points").and_then(|p| p.as_array()) else {
        bail!("not a robustness report (no `points` array)");
    };
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let s = |k: &str| {
                p.get(k)
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
                    .with_context(|| format!("points[{i}]: no `{k}`"))
            };
            let acc = p.get("test_accuracy").cloned().unwrap_or(Value::Null);
            if p.get("condition").is_some() {
                let mut r = study_record(i, "condition", &s("condition")?, &s("rule")?, acc);
                r.seed = p.get("seed").and_then(|x| x.as_u64());
                r.id = format!("{}-{}", r.id, r.seed.unwrap_or(0));
                return Ok(r);
            }
            Ok(study_record(i, &s("knob")?, &s("value")?, &s("rule")?, acc))
        })
        .collect()
}
