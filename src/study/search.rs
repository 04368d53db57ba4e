//! The hyper-parameter search behind the robustness study's arms: per learning rule, a small grid
//! of initialisation x learning rate, trained in situ on the reference (asymmetric FeFET-like)
//! chip and scored on a validation split held out of the training set, never on the test set.
//! The learning rates of one initialisation and all their seeds train as one population run.

use serde::Serialize;

use super::robustness::{mean_std, Arm};
use crate::backend::Backend;
use crate::config::{parse, InstanceConfig};
use crate::data::Split;
use crate::experiment::{run_on, RunOptions};

/// One rule's grid: the untuned arm (its `sets` fix the activation) and the values tried.
#[derive(Debug, Clone)]
pub struct Grid {
    pub arm: Arm,
    pub inits: Vec<&'static str>,
    pub lrs: Vec<f64>,
}

/// One grid point over its seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub rule: String,
    pub init: String,
    pub lr: f64,
    /// Validation accuracy per seed.
    pub accuracies: Vec<f64>,
    pub mean: f64,
    pub std: f64,
}

/// Runs every grid with `seeds`; `sets` must hold out a validation split (`data.val_split`) and
/// `split` must be the one it loads. `done` is called after every run.
pub fn run(
    be: &mut dyn Backend,
    grids: &[Grid],
    sets: &[String],
    seeds: &[u64],
    split: &Split,
    mut done: impl FnMut(&[Trial]),
) -> anyhow::Result<Vec<Trial>> {
    let mut trials = Vec::new();
    for g in grids {
        for init in &g.inits {
            let mut all: Vec<String> = sets.iter().chain(&g.arm.sets).cloned().collect();
            all.push(format!("network.init={init}"));
            let mut cfg = parse(g.arm.base, g.arm.origin, &all)?;
            anyhow::ensure!(
                cfg.data.val_split > 0,
                "the search scores on a validation split: set data.val_split"
            );
            cfg.population = g
                .lrs
                .iter()
                .flat_map(|&lr| {
                    seeds.iter().map(move |&s| InstanceConfig {
                        seed: Some(s),
                        lr: Some(lr),
                        ..Default::default()
                    })
                })
                .collect();
            cfg.validate()?;
            let r = run_on(be, &cfg, split, &RunOptions::default())?;
            for (i, &lr) in g.lrs.iter().enumerate() {
                let accuracies: Vec<f64> = r.instances[i * seeds.len()..(i + 1) * seeds.len()]
                    .iter()
                    .map(|inst| inst.test_accuracy)
                    .collect();
                let (mean, std, _) = mean_std(&accuracies);
                trials.push(Trial {
                    rule: g.arm.name.into(),
                    init: init.to_string(),
                    lr,
                    accuracies,
                    mean,
                    std,
                });
            }
            done(&trials);
        }
    }
    Ok(trials)
}

/// Per rule, the trial with the best mean validation accuracy.
pub fn best(trials: &[Trial]) -> Vec<&Trial> {
    let mut out: Vec<&Trial> = Vec::new();
    for t in trials {
        match out.iter_mut().find(|b| b.rule == t.rule) {
            Some(b) if t.mean > b.mean => *b = t,
            Some(_) => {}
            None => out.push(t),
        }
    }
    out
}

/// Markdown table of every trial, the best per rule marked.
pub fn table(trials: &[Trial]) -> String {
    let winners = best(trials);
    let mut out = String::from(
        "| rule | init | lr | validation accuracy (%) mean ± std | per seed |\n|---|---|---|---|---|\n",
    );
    for t in trials {
        let mark = if winners.iter().any(|b| std::ptr::eq(*b, t)) {
            " **best**"
        } else {
            ""
        };
        let per: Vec<String> = t
            .accuracies
            .iter()
            .map(|a| format!("{:.1}", 100.0 * a))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} ± {:.2}{mark} | {} |\n",
            t.rule,
            t.init,
            t.lr,
            100.0 * t.mean,
            100.0 * t.std,
            per.join(", ")
        ));
    }
    out
}
