//! What a sweep records per point: per-instance results of the run, and cost figures by
//! dotted path into the chip report.

use anyhow::bail;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chip::run_cost::CostedRun;
use crate::chip::ChipReport;
use crate::config::ExperimentConfig;
use crate::report::InstanceRecord;

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// Final test accuracy of the point's instance.
    TestAccuracy,
    /// Last epoch's training loss of the point's instance.
    TrainLoss,
    TrainAccuracy,
    /// Per-epoch records (kept in the log, not the CSV).
    Curves,
    /// Training throughput of the run the point was part of.
    SamplesPerSecond,
    /// A field of the chip report, e.g. `cost.inference.latency_s` (objects are flattened
    /// into one CSV column per leaf).
    Cost(String),
}

pub const DEFAULT: [&str; 3] = ["test_accuracy", "train_loss", "curves"];

const NAMES: &str = "test_accuracy, train_loss, train_accuracy, curves, samples_per_second, \
                     cost.<path> (e.g. cost.area_mm2.total, cost.inference.energy_j)";

impl Metric {
    pub fn parse(name: &str) -> anyhow::Result<Metric> {
        Ok(match name {
            "test_accuracy" => Metric::TestAccuracy,
            "train_loss" => Metric::TrainLoss,
            "train_accuracy" => Metric::TrainAccuracy,
            "curves" => Metric::Curves,
            "samples_per_second" => Metric::SamplesPerSecond,
            _ => match name.strip_prefix("cost.") {
                Some(path) if !path.is_empty() => Metric::Cost(path.to_string()),
                _ => bail!("metric `{name}`: allowed {NAMES}"),
            },
        })
    }

    fn needs_training(&self) -> bool {
        !matches!(self, Metric::Cost(_))
    }
}

/// Parses the metric list and checks cost paths against `cfg`'s chip report (cheap: no
/// training), so that a typo fails before anything runs.
pub fn parse_all(
    names: &[String],
    cfg: &ExperimentConfig,
    trains: bool,
) -> anyhow::Result<Vec<Metric>> {
    let names: Vec<String> = if names.is_empty() {
        if trains {
            DEFAULT.iter().map(|s| s.to_string()).collect()
        } else {
            vec![
                "cost.area_mm2.total".into(),
                "cost.inference.latency_s".into(),
            ]
        }
    } else {
        names.to_vec()
    };
    let metrics: Vec<Metric> = names
        .iter()
        .map(|n| Metric::parse(n))
        .collect::<anyhow::Result<_>>()?;
    if !trains {
        if let Some(m) = metrics.iter().find(|m| m.needs_training()) {
            bail!("metric {m:?} needs training, but the sweep has kind = \"cost\"");
        }
    }
    if metrics.iter().any(|m| matches!(m, Metric::Cost(_))) {
        let report = crate::chip::experiment::report(cfg, None)?;
        let value = serde_json::to_value(&report)?;
        for m in &metrics {
            if let Metric::Cost(path) = m {
                if lookup(&value, path).is_none() {
                    let top: Vec<&String> = value
                        .as_object()
                        .map(|o| o.keys().collect())
                        .unwrap_or_default();
                    bail!("metric `cost.{path}`: not in the chip report (its top-level fields: {top:?})");
                }
            }
        }
    }
    Ok(metrics)
}

/// A dotted path into JSON (array entries by number).
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, part| match v {
        Value::Object(o) => o.get(part),
        Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// One epoch of a point's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    pub epoch: u32,
    /// `null` once the loss is not finite.
    pub train_loss: Option<f64>,
    pub train_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<Vec<f64>>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The metrics of instance `inst` of a run.
pub fn collect(
    metrics: &[Metric],
    run: &CostedRun,
    inst: &InstanceRecord,
) -> (Map<String, Value>, Option<Vec<EpochRow>>) {
    let mut out = Map::new();
    let mut curves = None;
    let last = inst.epochs.last();
    let cost = run.cost.as_ref().map(serde_json::to_value);
    for m in metrics {
        match m {
            Metric::TestAccuracy => {
                out.insert("test_accuracy".into(), num(Some(inst.test_accuracy)));
            }
            Metric::TrainLoss => {
                out.insert("train_loss".into(), num(last.map(|e| e.train_loss)));
            }
            Metric::TrainAccuracy => {
                out.insert("train_accuracy".into(), num(last.map(|e| e.train_accuracy)));
            }
            Metric::SamplesPerSecond => {
                let v = run.final_.as_ref().map(|f| f.samples_per_second);
                out.insert("samples_per_second".into(), num(v));
            }
            Metric::Curves => {
                curves = Some(
                    inst.epochs
                        .iter()
                        .map(|e| EpochRow {
                            epoch: e.epoch,
                            train_loss: finite(e.train_loss),
                            train_accuracy: finite(e.train_accuracy),
                            test_accuracy: finite(e.test_accuracy),
                            alignment: e.alignment.clone(),
                        })
                        .collect(),
                );
            }
            Metric::Cost(path) => {
                let v = match &cost {
                    Some(Ok(c)) => lookup(c, path).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                out.insert(format!("cost.{path}"), v);
            }
        }
    }
    (out, curves)
}

/// Cost metrics alone, for `kind = "cost"` sweeps.
pub fn collect_cost(metrics: &[Metric], report: &ChipReport) -> Map<String, Value> {
    let value = serde_json::to_value(report).unwrap_or(Value::Null);
    metrics
        .iter()
        .filter_map(|m| match m {
            Metric::Cost(path) => Some((
                format!("cost.{path}"),
                lookup(&value, path).cloned().unwrap_or(Value::Null),
            )),
            _ => None,
        })
        .collect()
}

fn num(x: Option<f64>) -> Value {
    x.and_then(finite)
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
