//! `insitu eval`: a trained model on the experiment's crossbars, per population instance and
//! drift time.

use std::path::PathBuf;

use super::backend::{open, BackendKind};
use crate::config;
use crate::study::eval::{evaluate, load, EvalReport, TimeSummary};

pub struct Args {
    pub config: PathBuf,
    pub model: PathBuf,
    pub sets: Vec<String>,
    pub out: Option<PathBuf>,
}

/// Loads the model (and any programmed cells), evaluates it and prints the table.
pub fn run(a: &Args, kind: BackendKind, adapter: Option<String>) -> anyhow::Result<EvalReport> {
    let cfg = config::load(&a.config, &a.sets)?;
    let (model, cells) = load(&a.model)?;
    let split = crate::data::load(&cfg.data)?;
    let mut be = open(kind, adapter)?;
    let report = evaluate(
        be.as_mut(),
        &cfg,
        &model,
        &cells,
        &split,
        &a.model.display().to_string(),
    )?;
    print!("{}", table(&report));
    if let Some(c) = &report.cost {
        println!("{}", crate::chip::print_table(c));
    }
    if let Some(out) = &a.out {
        report.save(out)?;
    }
    Ok(report)
}

fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

/// Seconds as a short duration (1 s, 1 h, 1 d, 1 y).
fn duration(t: f64) -> String {
    const UNITS: [(f64, &str); 4] = [
        (31_557_600.0, "y"),
        (86_400.0, "d"),
        (3_600.0, "h"),
        (1.0, "s"),
    ];
    let (size, unit) = UNITS
        .iter()
        .find(|(s, _)| t >= *s)
        .copied()
        .unwrap_or((1.0, "s"));
    let v = t / size;
    if (v - v.round()).abs() < 1e-9 {
        format!("{}{unit}", v.round())
    } else {
        format!("{v:.3}{unit}")
    }
}

/// The terminal table: per instance and read time, then mean and spread.
pub fn table(r: &EvalReport) -> String {
    let mut s = format!(
        "{} on {} ({}): {}\nfloat (digital) test accuracy {}\n",
        r.config.name,
        r.adapter.name,
        r.backend,
        r.model,
        pct(r.float_accuracy)
    );
    if r.instances.is_empty() {
        s += "no [array] in the config: float evaluation only\n";
        return s;
    }
    s += &format!("on crossbars: {}\n", r.weights);
    if let Some(n) = &r.note {
        s += &format!("note: {n}\n");
    }
    let mut head = format!(
        "{:>8}  {:>20}  {:>6}  {:>6}  {:>10}",
        "instance", "seed", "d2d", "c2c", "read_noise"
    );
    for t in &r.times {
        head += &format!("  {:>9}", format!("t={}", duration(t.t)));
    }
    s += &head;
    s.push('\n');
    for i in &r.instances {
        let mut line = format!(
            "{:>8}  {:>20}  {:>6}  {:>6}  {:>10}",
            i.index, i.seed, i.d2d, i.c2c, i.read_noise
        );
        for p in &i.points {
            line += &format!("  {:>9}", pct(p.test_accuracy));
        }
        s += &line;
        s.push('\n');
    }
    if r.instances.len() > 1 {
        for (name, f) in [
            ("mean", (|t| t.mean) as fn(&TimeSummary) -> f64),
            ("std", |t| t.std),
            ("min", |t| t.min),
            ("max", |t| t.max),
        ] {
            let mut line = format!("{name:>8}  {:>20}  {:>6}  {:>6}  {:>10}", "", "", "", "");
            for t in &r.times {
                line += &format!("  {:>9}", pct(f(t)));
            }
            s += &line;
            s.push('\n');
        }
    }
    s
}
