//! `insitu train` and the default demo run.

use std::path::{Path, PathBuf};

use super::backend::{open, BackendKind};
use crate::config::{self, ExperimentConfig};
use crate::train::{run, RunOptions, RunReport};

pub fn train(
    path: &Path,
    sets: &[String],
    out: Option<PathBuf>,
    save: Option<PathBuf>,
    kind: BackendKind,
    adapter: Option<String>,
) -> anyhow::Result<RunReport> {
    let cfg = config::load(path, sets)?;
    super::outpath::check_files(&[(&out, "--out"), (&save, "--save")])?;
    let mut be = open(kind, adapter)?;
    let report = run(
        be.as_mut(),
        &cfg,
        &RunOptions {
            out,
            save,
            progress: true,
            label: cfg.name.clone(),
        },
    )?;
    print_epochs(&report);
    Ok(report)
}

pub fn print_epochs(r: &RunReport) {
    println!(
        "{} on {} ({}), seed {}",
        r.config.name, r.adapter.name, r.backend, r.seed
    );
    println!("epoch  train_loss  train_acc  test_acc  seconds");
    for e in &r.epochs {
        println!(
            "{:>5}  {:>10.4}  {:>8.2}%  {:>7.2}%  {:>7.2}{}",
            e.epoch,
            e.train_loss,
            100.0 * e.train_accuracy,
            100.0 * e.test_accuracy,
            e.seconds,
            e.alignment
                .as_ref()
                .map(|a| format!(
                    "  alignment {:?}",
                    a.iter()
                        .map(|v| (v * 1000.0).round() / 1000.0)
                        .collect::<Vec<_>>()
                ))
                .unwrap_or_default()
        );
    }
    if r.instances.len() > 1 {
        println!("instance  seed  lr  test_acc");
        for i in &r.instances {
            println!(
                "{:>8}  {}  {}  {:.2}%",
                i.index,
                i.seed,
                i.lr,
                100.0 * i.test_accuracy
            );
        }
    }
    if let Some(s) = &r.stopped {
        println!("stopped: {s}");
    }
    for i in r.instances.iter().filter(|_| r.instances.len() > 1) {
        if let Some(d) = &i.diverged {
            println!("instance {} diverged: {d}", i.index);
        }
    }
    if let Some(c) = &r.cost {
        println!("{}", crate::chip::print_table(c));
    }
}

/// The embedded experiment files the demo runs.
pub fn demo_configs() -> [(&'static str, &'static str); 2] {
    [
        (
            "configs/mlp_mnist_bp.toml",
            include_str!("../../configs/mlp_mnist_bp.toml"),
        ),
        (
            "configs/mlp_mnist_dfa.toml",
            include_str!("../../configs/mlp_mnist_dfa.toml"),
        ),
    ]
}

/// Trains BP and DFA on the embedded data and prints them side by side.
pub fn demo(
    epochs: u32,
    kind: BackendKind,
    adapter: Option<String>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    super::outpath::check_files(&[(&out, "--out")])?;
    let mut be = open(kind, adapter)?;
    let mut reports = Vec::new();
    for (origin, text) in demo_configs() {
        let cfg: ExperimentConfig =
            config::parse(text, origin, &[format!("train.epochs={epochs}")])?;
        let r = run(
            be.as_mut(),
            &cfg,
            &RunOptions {
                out: None,
                save: None,
                progress: true,
                label: cfg.name.clone(),
            },
        )?;
        reports.push(r);
    }
    let (bp, dfa) = (&reports[0], &reports[1]);
    println!(
        "insitu demo: 784-256-256-10 on the embedded MNIST subset (4000 train / 1000 test), {} on {}",
        bp.backend, bp.adapter.name
    );
    println!("epoch  BP train_loss  BP test_acc  DFA train_loss  DFA test_acc  DFA alignment");
    for (a, b) in bp.epochs.iter().zip(&dfa.epochs) {
        println!(
            "{:>5}  {:>13.4}  {:>10.2}%  {:>14.4}  {:>11.2}%  {}",
            a.epoch,
            a.train_loss,
            100.0 * a.test_accuracy,
            b.train_loss,
            100.0 * b.test_accuracy,
            b.alignment
                .as_ref()
                .map(|v| v
                    .iter()
                    .map(|x| format!("{x:.3}"))
                    .collect::<Vec<_>>()
                    .join(" "))
                .unwrap_or_default()
        );
    }
    let sps = |r: &RunReport| {
        r.final_
            .as_ref()
            .map(|f| f.samples_per_second)
            .unwrap_or(0.0)
    };
    println!(
        "final test accuracy: BP {:.2}%  DFA {:.2}%   ({:.0} / {:.0} samples/s)",
        100.0 * bp.final_.as_ref().map(|f| f.test_accuracy).unwrap_or(0.0),
        100.0 * dfa.final_.as_ref().map(|f| f.test_accuracy).unwrap_or(0.0),
        sps(bp),
        sps(dfa)
    );
    if let Some(out) = out {
        super::outpath::write(
            &out,
            serde_json::to_vec_pretty(&serde_json::json!({"bp": bp, "dfa": dfa}))?,
        )?;
    }
    Ok(())
}
