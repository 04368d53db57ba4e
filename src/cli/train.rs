//! `insitu train` and the default demo run.

use std::path::{Path, PathBuf};

use super::backend::{open, BackendKind};
use crate::chip::run_cost::{run_cost, CostedRun};
use crate::config;
use crate::experiment::{run, RunOptions};
use crate::report::RunReport;

pub fn train(
    path: &Path,
    sets: &[String],
    out: Option<PathBuf>,
    save: Option<PathBuf>,
    kind: BackendKind,
    adapter: Option<String>,
) -> anyhow::Result<CostedRun> {
    let cfg = config::load(path, sets)?;
    super::outpath::check_files(&[(&out, "--out"), (&save, "--save")])?;
    let mut be = open(kind, adapter)?;
    let report = run(
        be.as_mut(),
        &cfg,
        &RunOptions {
            out: out.clone(),
            save,
            progress: !crate::progress::quiet(),
            label: cfg.name.clone(),
        },
    )?;
    // The chip cost is attached once training is done; the final report is written again
    // with it.
    let report = run_cost(report);
    if let Some(path) = &out {
        report
            .save(path)
            .map_err(|e| anyhow::anyhow!("writing the report {}: {e}", path.display()))?;
    }
    print_epochs(&report);
    Ok(report)
}

pub fn print_epochs(r: &CostedRun) {
    println!(
        "{} on {} ({}), seed {}",
        r.config.name, r.adapter.name, r.backend, r.seed
    );
    if r.instances.len() > 1 {
        println!(
            "mean over {} instances per epoch (the instances follow)",
            r.instances.len()
        );
    }
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
                .map(|a| format!("  alignment {}", join(a)))
                .unwrap_or_default()
                + &clip_column(&e.adc_clipped)
        );
    }
    if r.instances.len() > 1 {
        print!("{}", population_table(r));
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

/// In-situ epochs: per layer, the percentage of forward / transposed ADC conversions clipped.
fn clip_column(clipped: &[crate::report::ClipFractions]) -> String {
    if clipped.is_empty() {
        return String::new();
    }
    let layers: Vec<String> = clipped
        .iter()
        .map(|c| format!("{:.2}/{:.2}", 100.0 * c.forward, 100.0 * c.transposed))
        .collect();
    format!("  clip% fwd/tr {}", layers.join(" "))
}

/// Values to three decimals, space separated (alignment per hidden layer).
pub fn join(values: &[f64]) -> String {
    values
        .iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every instance's knobs and final numbers, then their mean and spread.
pub fn population_table<C>(r: &RunReport<C>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "instance  {:>6}  {:>8}  {:>7}  {:>7}  {:>10}  {:>6}  {:>6}  {:>10}  {:>8}",
        "seed", "lr", "c2c", "d2d", "read_noise", "nl_ltp", "nl_ltd", "train_loss", "test_acc"
    );
    for i in &r.instances {
        let k = |f: fn(&crate::report::DeviceKnobs) -> f64| {
            i.knobs.as_ref().map_or("-".into(), |k| format!("{}", f(k)))
        };
        let last = i.epochs.last();
        let _ = writeln!(
            s,
            "{:>8}  {:>6}  {:>8}  {:>7}  {:>7}  {:>10}  {:>6}  {:>6}  {:>10.4}  {:>7.2}%",
            i.index,
            i.seed,
            i.lr,
            k(|k| k.c2c),
            k(|k| k.d2d),
            k(|k| k.read_noise),
            k(|k| k.nl_ltp),
            k(|k| k.nl_ltd),
            last.map_or(f64::NAN, |e| e.train_loss),
            100.0 * i.test_accuracy
        );
    }
    if let Some(sp) = &r.spread {
        let a = &sp.test_accuracy;
        let _ = writeln!(
            s,
            "test accuracy over {} instances: mean {:.2}%, std {:.2} points, min {:.2}%, max {:.2}%",
            a.n,
            100.0 * a.mean,
            100.0 * a.std,
            100.0 * a.min,
            100.0 * a.max
        );
    }
    s
}
