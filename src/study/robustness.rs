//! The robustness study: in-situ test accuracy of BP and DFA as one device or array knob at a
//! time moves away from a reference chip. Knobs that are per-instance scalars (c2c, d2d, NL)
//! are packed into one population run per rule; the others run one configuration at a time.

use serde::Serialize;

use crate::backend::Backend;
use crate::config::{parse, ExperimentConfig, InstanceConfig};
use crate::data::Split;
use crate::train::{run_on, RunOptions};

/// One measured point.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub knob: String,
    pub value: String,
    pub rule: String,
    pub test_accuracy: f64,
    /// Set when training diverged (accuracy is that of the last finished epoch).
    pub stopped: Option<String>,
}

/// What a knob does to the reference config.
enum Knob {
    /// Per-instance scalars: one population entry per value.
    Instances(Vec<(String, InstanceConfig)>),
    /// Config overrides: one run per value.
    Sets(Vec<(String, Vec<String>)>),
}

fn instances(values: &[f64], f: impl Fn(f64) -> InstanceConfig) -> Knob {
    Knob::Instances(values.iter().map(|v| (v.to_string(), f(*v))).collect())
}

fn knobs() -> Vec<(&'static str, Knob)> {
    vec![
        (
            "adc_bits",
            Knob::Sets(
                [2u32, 3, 4, 5, 6, 8]
                    .iter()
                    .map(|b| {
                        (
                            b.to_string(),
                            vec![
                                format!("array.adc_bits={b}"),
                                format!("array.adc_bits_backward={}", b + 2),
                            ],
                        )
                    })
                    .collect(),
            ),
        ),
        (
            "weight_bits",
            Knob::Sets(
                [2u32, 3, 4, 5, 6]
                    .iter()
                    .map(|b| {
                        let levels = 1u32 << b;
                        (
                            b.to_string(),
                            vec![
                                format!("array.weight_bits={b}"),
                                format!("array.cell_bits={b}"),
                                format!("device.levels={levels}"),
                                format!("device.max_pulses_per_update={}", levels - 1),
                            ],
                        )
                    })
                    .collect(),
            ),
        ),
        (
            "c2c",
            instances(&[0.0, 0.003, 0.01, 0.03, 0.1], |v| InstanceConfig {
                c2c: Some(v),
                ..Default::default()
            }),
        ),
        (
            "d2d",
            instances(&[0.0, 0.05, 0.1, 0.2, 0.4], |v| InstanceConfig {
                d2d: Some(v),
                ..Default::default()
            }),
        ),
        (
            "nl",
            instances(&[0.0, 1.0, 1.75, 3.0, 5.0, 9.0], |v| InstanceConfig {
                nl_ltp: Some(v),
                nl_ltd: Some(-v),
                ..Default::default()
            }),
        ),
        (
            "on_off",
            Knob::Sets(
                [2.0f64, 5.0, 12.5, 50.0, 1000.0]
                    .iter()
                    .map(|v| (v.to_string(), vec![format!("device.on_off={v}")]))
                    .collect(),
            ),
        ),
    ]
}

/// Points the study measures for one learning rule (every value of every knob).
pub fn points_per_rule() -> usize {
    knobs()
        .iter()
        .map(|(_, k)| match k {
            Knob::Instances(v) => v.len(),
            Knob::Sets(v) => v.len(),
        })
        .sum()
}

/// A learning rule's reference experiment: (rule name, TOML text, origin for messages).
pub type Reference<'a> = (&'a str, &'a str, &'a str);

/// Runs the study from each rule's reference in-situ experiment with extra overrides `sets`;
/// calls `done` after every run so callers can save progress.
pub fn run(
    be: &mut dyn Backend,
    references: &[Reference],
    sets: &[String],
    split: &Split,
    mut done: impl FnMut(&[Point]),
) -> anyhow::Result<Vec<Point>> {
    let mut points = Vec::new();
    for &(rule_name, base, origin) in references {
        let rule_sets = sets.to_vec();
        for (knob, k) in knobs() {
            let runs: Vec<(Vec<String>, ExperimentConfig)> = match k {
                Knob::Instances(list) => {
                    let mut cfg = parse(base, origin, &rule_sets)?;
                    cfg.population = list.iter().map(|(_, i)| i.clone()).collect();
                    vec![(list.into_iter().map(|(v, _)| v).collect(), cfg)]
                }
                Knob::Sets(list) => list
                    .into_iter()
                    .map(|(v, extra)| {
                        let mut s = rule_sets.clone();
                        s.extend(extra);
                        parse(base, origin, &s).map(|c| (vec![v], c))
                    })
                    .collect::<Result<_, _>>()?,
            };
            for (values, cfg) in runs {
                let r = run_on(be, &cfg, split, &RunOptions::default())?;
                for (v, inst) in values.iter().zip(&r.instances) {
                    points.push(Point {
                        knob: knob.into(),
                        value: v.clone(),
                        rule: rule_name.into(),
                        test_accuracy: inst.test_accuracy,
                        stopped: r.stopped.clone(),
                    });
                }
                done(&points);
            }
        }
    }
    Ok(points)
}

/// The table: one line per (knob, value), BP and DFA side by side.
pub fn table(points: &[Point]) -> String {
    let mut out = String::from("knob         value      BP test_acc  DFA test_acc\n");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for p in points {
        if !seen.contains(&(p.knob.as_str(), p.value.as_str())) {
            seen.push((&p.knob, &p.value));
        }
    }
    for (knob, value) in seen {
        let find = |rule: &str| {
            points
                .iter()
                .find(|p| p.knob == knob && p.value == value && p.rule == rule)
                .map(|p| format!("{:>10.2}%", 100.0 * p.test_accuracy))
                .unwrap_or_else(|| format!("{:>11}", "-"))
        };
        out.push_str(&format!(
            "{knob:<12} {value:<9} {}  {}\n",
            find("bp"),
            find("dfa")
        ));
    }
    out
}

/// CSV with a header, one row per point.
pub fn csv(points: &[Point]) -> String {
    let mut out = String::from("knob,value,rule,test_accuracy,stopped\n");
    for p in points {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            p.knob,
            p.value,
            p.rule,
            p.test_accuracy,
            p.stopped.as_deref().unwrap_or("")
        ));
    }
    out
}
