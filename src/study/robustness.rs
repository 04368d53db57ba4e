//! The BP vs DFA robustness study: in-situ test accuracy of each learning rule, at its own tuned
//! hyper-parameters, on float weights, on a symmetric and an asymmetric FeFET-like device and
//! under stronger nonidealities of the asymmetric one, over several chip seeds per point. The
//! seeds of one (rule, condition) train together as one population run.

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::config::{parse, ExperimentConfig, InstanceConfig};
use crate::data::Split;
use crate::experiment::{run_on, RunOptions};

/// A learning rule at its tuned hyper-parameters: the reference in-situ experiment it starts
/// from and the overrides found by the search (`docs/robustness.md`).
#[derive(Debug, Clone)]
pub struct Arm {
    pub name: &'static str,
    /// TOML text of the reference experiment and its origin for messages.
    pub base: &'static str,
    pub origin: &'static str,
    pub sets: Vec<String>,
}

/// A chip the arms train on: float weights (no crossbar) or the reference device with
/// overrides.
#[derive(Debug, Clone)]
pub struct Condition {
    pub name: String,
    pub float: bool,
    pub sets: Vec<String>,
}

impl Condition {
    pub fn float() -> Self {
        Self {
            name: "float".into(),
            float: true,
            sets: vec![],
        }
    }

    pub fn device(name: &str, sets: &[&str]) -> Self {
        Self {
            name: name.into(),
            float: false,
            sets: sets.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The study's chips: float, the symmetric and the asymmetric FeFET-like device, then the
/// asymmetric one with 10x and 30x its cycle-to-cycle write noise and with a 4-bit ADC.
pub fn conditions() -> Vec<Condition> {
    vec![
        Condition::float(),
        Condition::device("fefet_symmetric", &["device.preset=fefet_symmetric"]),
        Condition::device("fefet_asymmetric", &["device.preset=fefet_asymmetric"]),
        Condition::device(
            "asym c2c=0.03",
            &["device.preset=fefet_asymmetric", "device.c2c=0.03"],
        ),
        Condition::device(
            "asym c2c=0.09",
            &["device.preset=fefet_asymmetric", "device.c2c=0.09"],
        ),
        Condition::device(
            "asym adc=4b",
            &[
                "device.preset=fefet_asymmetric",
                "array.adc_bits=4",
                "array.adc_bits_backward=6",
            ],
        ),
    ]
}

/// The experiment of one (arm, condition): reference, the arm's tuned values, study overrides
/// `sets` (which may replace them), the condition; float conditions drop the crossbar. One
/// instance per seed.
pub fn experiment(
    arm: &Arm,
    cond: &Condition,
    sets: &[String],
    seeds: &[u64],
) -> anyhow::Result<ExperimentConfig> {
    let all: Vec<String> = arm
        .sets
        .iter()
        .chain(sets)
        .chain(&cond.sets)
        .cloned()
        .collect();
    let mut cfg = parse(arm.base, arm.origin, &all)?;
    if cond.float {
        cfg.array = None;
        cfg.device = None;
    }
    cfg.population = seeds
        .iter()
        .map(|&s| InstanceConfig {
            seed: Some(s),
            ..Default::default()
        })
        .collect();
    cfg.validate()?;
    Ok(cfg)
}

/// One trained chip.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub rule: String,
    pub condition: String,
    pub seed: u64,
    pub test_accuracy: f64,
    /// Per epoch, the evaluation accuracy (convergence check).
    pub curve: Vec<f64>,
    /// Final epoch, per weight layer: clipped fraction of forward and transposed ADC
    /// conversions (all seeds of the run together); empty for float runs.
    pub clipped: Vec<[f64; 2]>,
    /// Set when this seed's training diverged.
    pub diverged: Option<String>,
}

/// Trains every arm on every condition with `seeds`; `done` is called after every run so
/// callers can save progress.
pub fn run(
    be: &mut dyn Backend,
    arms: &[Arm],
    conds: &[Condition],
    sets: &[String],
    seeds: &[u64],
    split: &Split,
    mut done: impl FnMut(&[Point]),
) -> anyhow::Result<Vec<Point>> {
    let mut points = Vec::new();
    for arm in arms {
        for cond in conds {
            let cfg = experiment(arm, cond, sets, seeds)?;
            let r = run_on(be, &cfg, split, &RunOptions::default())?;
            let clipped: Vec<[f64; 2]> = r
                .epochs
                .last()
                .map(|e| {
                    e.adc_clipped
                        .iter()
                        .map(|c| [c.forward, c.transposed])
                        .collect()
                })
                .unwrap_or_default();
            for inst in &r.instances {
                points.push(Point {
                    rule: arm.name.into(),
                    condition: cond.name.clone(),
                    seed: inst.seed,
                    test_accuracy: inst.test_accuracy,
                    curve: inst.epochs.iter().map(|e| e.test_accuracy).collect(),
                    clipped: clipped.clone(),
                    diverged: inst
                        .diverged
                        .as_ref()
                        .map(|d| format!("epoch {} step {}: {}", d.epoch, d.step, d.reason)),
                });
            }
            done(&points);
        }
    }
    Ok(points)
}

/// Mean, sample standard deviation and standard error of the mean of `xs`.
pub fn mean_std(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let m = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (m, 0.0, 0.0);
    }
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt(), (var / n).sqrt())
}

/// Accuracy of one (rule, condition) over its seeds, and its drop from the rule's float run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub rule: String,
    pub condition: String,
    pub seeds: usize,
    pub mean: f64,
    pub std: f64,
    /// Standard error of the mean.
    pub sem: f64,
    /// Float mean minus this mean, and its standard error (independent seeds).
    pub drop: f64,
    pub drop_se: f64,
}

/// Per (rule, condition) in first-seen order.
pub fn summarize(points: &[Point]) -> Vec<Summary> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for p in points {
        if !keys.contains(&(p.rule.as_str(), p.condition.as_str())) {
            keys.push((&p.rule, &p.condition));
        }
    }
    let stats = |rule: &str, cond: &str| {
        let xs: Vec<f64> = points
            .iter()
            .filter(|p| p.rule == rule && p.condition == cond)
            .map(|p| p.test_accuracy)
            .collect();
        (xs.len(), mean_std(&xs))
    };
    keys.iter()
        .map(|&(rule, cond)| {
            let (n, (mean, std, sem)) = stats(rule, cond);
            let (_, (fm, _, fse)) = stats(rule, "float");
            Summary {
                rule: rule.into(),
                condition: cond.into(),
                seeds: n,
                mean,
                std,
                sem,
                drop: fm - mean,
                drop_se: (fse * fse + sem * sem).sqrt(),
            }
        })
        .collect()
}

/// Differences of means beyond this many combined standard errors count as real.
pub const CRITERION_SE: f64 = 2.0;

/// BP's drop against DFA's drop on one condition.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub condition: String,
    pub bp_drop: f64,
    pub dfa_drop: f64,
    /// DFA drop minus BP drop (positive: BP degrades less) and its standard error.
    pub diff: f64,
    pub se: f64,
    /// "BP degrades less", "DFA degrades less" or "within noise" by [`CRITERION_SE`].
    pub verdict: String,
}

/// The comparison of rules `bp` and `dfa` on every non-float condition both have.
pub fn compare(summaries: &[Summary], bp: &str, dfa: &str) -> Vec<Comparison> {
    let find = |rule: &str, cond: &str| {
        summaries
            .iter()
            .find(|s| s.rule == rule && s.condition == cond)
    };
    summaries
        .iter()
        .filter(|s| s.rule == bp && s.condition != "float")
        .filter_map(|b| {
            let d = find(dfa, &b.condition)?;
            let diff = d.drop - b.drop;
            let se = (b.drop_se.powi(2) + d.drop_se.powi(2)).sqrt();
            let verdict = if diff.abs() <= CRITERION_SE * se {
                "within noise"
            } else if diff > 0.0 {
                "BP degrades less"
            } else {
                "DFA degrades less"
            };
            Some(Comparison {
                condition: b.condition.clone(),
                bp_drop: b.drop,
                dfa_drop: d.drop,
                diff,
                se,
                verdict: verdict.into(),
            })
        })
        .collect()
}

fn pct(v: f64) -> String {
    format!("{:.2}", 100.0 * v)
}

/// Markdown table: mean ± std (change from float ± its standard error) per condition and rule.
pub fn table(summaries: &[Summary]) -> String {
    let mut rules: Vec<&str> = Vec::new();
    let mut conds: Vec<&str> = Vec::new();
    for s in summaries {
        if !rules.contains(&s.rule.as_str()) {
            rules.push(&s.rule);
        }
        if !conds.contains(&s.condition.as_str()) {
            conds.push(&s.condition);
        }
    }
    let mut out = format!("| condition | {} |\n", rules.join(" | "));
    out.push_str(&format!("|---|{}\n", "---|".repeat(rules.len())));
    for c in conds {
        out.push_str(&format!("| {c} |"));
        for r in &rules {
            let cell = summaries
                .iter()
                .find(|s| s.rule == *r && s.condition == c)
                .map(|s| {
                    let drop = if c == "float" {
                        String::new()
                    } else {
                        format!(" ({:+.2} ± {})", -100.0 * s.drop, pct(s.drop_se))
                    };
                    format!(" {} ± {}{drop} |", pct(s.mean), pct(s.std))
                })
                .unwrap_or_else(|| " - |".into());
            out.push_str(&cell);
        }
        out.push('\n');
    }
    out
}

/// Markdown table of the BP vs DFA comparison.
pub fn comparison_table(rows: &[Comparison]) -> String {
    let mut out = String::from(
        "| condition | BP drop | DFA drop | DFA - BP | 2 SE | verdict |\n|---|---|---|---|---|---|\n",
    );
    for c in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.condition,
            pct(c.bp_drop),
            pct(c.dfa_drop),
            pct(c.diff),
            pct(CRITERION_SE * c.se),
            c.verdict
        ));
    }
    out
}

/// CSV with a header, one row per seed.
pub fn csv(points: &[Point]) -> String {
    let mut out = String::from("rule,condition,seed,test_accuracy,diverged\n");
    for p in points {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            p.rule,
            p.condition,
            p.seed,
            p.test_accuracy,
            p.diverged.as_deref().unwrap_or("")
        ));
    }
    out
}
