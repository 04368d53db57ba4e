//! `insitu` / `insitu demo`: BP and DFA trained in situ on the FeFET-like crossbar preset, side
//! by side, then what each costs on the chip (`--float` trains in floating point instead).

use std::fmt::Write;
use std::path::PathBuf;

use super::backend::{open, BackendKind};
use crate::chip::run_cost::{run_cost, CostedRun};
use crate::chip::ChipReport;
use crate::config::{self, ExperimentConfig};
use crate::experiment::{run, RunOptions};

/// The embedded in-situ experiments: FeFET-like 5-bit cells, 6-bit calibrated ADC.
const INSITU: [(&str, &str); 2] = [
    (
        "configs/xbar_mlp_bp.toml",
        include_str!("../../configs/xbar_mlp_bp.toml"),
    ),
    (
        "configs/xbar_mlp_dfa.toml",
        include_str!("../../configs/xbar_mlp_dfa.toml"),
    ),
];

/// The embedded float experiments (`--float`).
const FLOAT: [(&str, &str); 2] = [
    (
        "configs/mlp_mnist_bp.toml",
        include_str!("../../configs/mlp_mnist_bp.toml"),
    ),
    (
        "configs/mlp_mnist_dfa.toml",
        include_str!("../../configs/mlp_mnist_dfa.toml"),
    ),
];

/// The in-situ demo's network: two hidden layers of 128 keep the bit-serial reads to seconds
/// per epoch on a laptop CPU, and are deep enough for DFA's parallel error phase to show.
pub const INSITU_HIDDEN: &str = "network.hidden=[128, 128]";

pub struct Args {
    /// Epochs (default: 3 in situ, 5 in float).
    pub epochs: Option<u32>,
    pub float: bool,
    pub out: Option<PathBuf>,
}

/// The demo's two experiments, BP then DFA, with the demo's overrides applied.
pub fn configs(float: bool, epochs: Option<u32>) -> anyhow::Result<Vec<ExperimentConfig>> {
    let (files, default_epochs) = if float { (FLOAT, 5) } else { (INSITU, 3) };
    let mut sets = vec![format!("train.epochs={}", epochs.unwrap_or(default_epochs))];
    if !float {
        sets.push(INSITU_HIDDEN.into());
    }
    files
        .iter()
        .map(|(origin, text)| Ok(config::parse(text, origin, &sets)?))
        .collect()
}

pub fn run_demo(a: &Args, kind: BackendKind, adapter: Option<String>) -> anyhow::Result<()> {
    super::outpath::check_files(&[(&a.out, "--out")])?;
    let mut be = open(kind, adapter)?;
    let mut reports = Vec::new();
    for cfg in configs(a.float, a.epochs)? {
        let label = format!(
            "{} {}",
            cfg.train.rule,
            if a.float { "float" } else { "in situ" }
        );
        let r = run_cost(run(
            be.as_mut(),
            &cfg,
            &RunOptions {
                progress: !crate::progress::quiet(),
                label,
                ..Default::default()
            },
        )?);
        reports.push(r);
    }
    let (bp, dfa) = (&reports[0], &reports[1]);
    // The file first: a closed stdout must not lose it.
    if let Some(out) = &a.out {
        super::outpath::write(
            out,
            serde_json::to_vec_pretty(&serde_json::json!({"bp": bp, "dfa": dfa}))?,
        )?;
    }
    if a.float {
        print!("{}", float_text(bp, dfa));
    } else {
        print!("{}", insitu_text(bp, dfa));
    }
    Ok(())
}

/// `v` with an SI prefix, e.g. `1.23 us`.
pub fn si(v: f64, unit: &str) -> String {
    const PREFIXES: [(f64, &str); 9] = [
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1.0, ""),
        (1e-3, "m"),
        (1e-6, "u"),
        (1e-9, "n"),
        (1e-12, "p"),
    ];
    if v == 0.0 || !v.is_finite() {
        return format!("{v} {unit}");
    }
    let (k, p) = PREFIXES
        .iter()
        .find(|(k, _)| v.abs() >= *k)
        .copied()
        .unwrap_or((1e-15, "f"));
    format!("{:.3} {p}{unit}", v / k)
}

/// "CPU reference backend" or "GPU: NAME (vulkan)".
fn backend_words(r: &CostedRun) -> String {
    if r.backend == "cpu" {
        "CPU reference backend".into()
    } else {
        format!("GPU: {} ({})", r.adapter.name, r.backend)
    }
}

fn pct(r: &CostedRun, epoch: usize) -> String {
    r.epochs
        .get(epoch)
        .map(|e| format!("{:.2}%", 100.0 * e.test_accuracy))
        .unwrap_or_else(|| "-".into())
}

fn network(cfg: &ExperimentConfig) -> String {
    let mut sizes = vec!["784".to_string()];
    sizes.extend(cfg.network.hidden.iter().map(|h| h.to_string()));
    sizes.push("10".into());
    sizes.join("-")
}

/// The data line, e.g. "embedded MNIST subset (4000 train / 1000 test)".
fn data_line(cfg: &ExperimentConfig) -> String {
    let limit = |n: usize, full: usize| if n > 0 { n.min(full) } else { full };
    format!(
        "embedded MNIST subset ({} train / {} test)",
        limit(cfg.data.train_limit, 4000),
        limit(cfg.data.test_limit, 1000)
    )
}

fn stopped(out: &mut String, bp: &CostedRun, dfa: &CostedRun) {
    for (name, r) in [("BP", bp), ("DFA", dfa)] {
        if let Some(s) = &r.stopped {
            let _ = writeln!(out, "{name} stopped: {s}");
        }
    }
}

/// In-situ accuracy per epoch side by side, then both chips' cost.
pub fn insitu_text(bp: &CostedRun, dfa: &CostedRun) -> String {
    let mut s = String::new();
    let c = &bp.config;
    let arr = c.array.clone().unwrap_or_default();
    let _ = writeln!(
        s,
        "BP vs DFA trained in situ on simulated FeFET-like crossbars ({})",
        backend_words(bp)
    );
    let _ = writeln!(
        s,
        "  {} MLP, {}, batch {}",
        network(c),
        data_line(c),
        c.train.batch_size
    );
    let _ = writeln!(
        s,
        "  {}-bit cells, {}-bit inputs, {}-bit forward ADC, updates programmed as device pulses",
        arr.cell_bits, arr.input_bits, arr.adc_bits
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "test accuracy, in situ");
    let _ = writeln!(s, "{:>5}  {:>10}  {:>10}", "epoch", "BP", "DFA");
    for i in 0..bp.epochs.len().max(dfa.epochs.len()) {
        let _ = writeln!(s, "{:>5}  {:>10}  {:>10}", i + 1, pct(bp, i), pct(dfa, i));
    }
    stopped(&mut s, bp, dfa);
    let _ = writeln!(s);
    match (&bp.cost, &dfa.cost) {
        (Some(cb), Some(cd)) => s.push_str(&cost_text(cb, cd)),
        _ => {
            let _ = writeln!(s, "chip cost: not estimated (see the warning above)");
        }
    }
    let _ = writeln!(
        s,
        "\nFloat training: `insitu demo --float`. Full-size runs with the whole chip report:\n\
         `insitu train configs/xbar_mlp_bp.toml` (or xbar_mlp_dfa.toml)."
    );
    s
}

/// Per-step phase latency and energy of both rules' chips, inference, and DFA's speed-up.
pub fn cost_text(bp: &ChipReport, dfa: &ChipReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "chip ({} nm, {} activity)      {:>24}  {:>24}",
        bp.node_nm, bp.activity, "BP", "DFA"
    );
    let row = |s: &mut String, name: &str, b: String, d: String| {
        let _ = writeln!(s, "{name:<32}  {b:>24}  {d:>24}");
    };
    // Each rule's training chip (the inference chip when the arrays are not trained in situ).
    let area = |r: &ChipReport| {
        r.training_chip
            .as_ref()
            .map_or(r.area_mm2.total, |c| c.area_mm2.total)
    };
    row(
        &mut s,
        "area",
        format!("{:.3} mm^2", area(bp)),
        format!("{:.3} mm^2", area(dfa)),
    );
    let (Some(tb), Some(td)) = (&bp.training, &dfa.training) else {
        let _ = writeln!(
            s,
            "(no training phases: the arrays are not trained in situ)"
        );
        return s;
    };
    let _ = writeln!(s, "training step (batch {}), latency / energy:", tb.batch);
    let both = |p: &crate::chip::report::Phase| {
        format!(
            "{} / {}",
            si(p.latency_s_per_step, "s"),
            si(p.energy_j_per_step, "J")
        )
    };
    for (name, pb, pd) in [
        ("  forward", &tb.forward, &td.forward),
        ("  error", &tb.error, &td.error),
        (
            "  weight gradient",
            &tb.weight_gradient,
            &td.weight_gradient,
        ),
        ("  weight update", &tb.weight_update, &td.weight_update),
    ] {
        row(&mut s, name, both(pb), both(pd));
    }
    let step = |t: &crate::chip::report::Training| {
        let n = t.steps_per_epoch.max(1) as f64;
        (
            t.scheduled_latency_s_per_epoch / n,
            t.energy_j_per_epoch / n,
        )
    };
    let (lb, eb) = step(tb);
    let (ld, ed) = step(td);
    row(
        &mut s,
        "  whole step (scheduled)",
        format!("{} / {}", si(lb, "s"), si(eb, "J")),
        format!("{} / {}", si(ld, "s"), si(ed, "J")),
    );
    let inf = |r: &ChipReport| {
        format!(
            "{} / {}",
            si(r.inference.latency_s, "s"),
            si(r.inference.energy_j, "J")
        )
    };
    row(&mut s, "inference per image", inf(bp), inf(dfa));
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    // Each rule's step on its own run's measured activity, and both rules on DFA's activity
    // (the schedule alone, activity held equal).
    let equal = dfa
        .schedule
        .as_ref()
        .map(|c| format!(" ({:.2}x at equal activity)", c.speedup))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "DFA speed-up: {:.2}x per training step{equal}, {:.2}x in the error phase\n\
         DFA energy per step: {:.2}x BP's",
        ratio(lb, ld),
        ratio(tb.error.latency_s_per_step, td.error.latency_s_per_step),
        ratio(ed, eb)
    );
    s
}

/// The float comparison: loss and accuracy per epoch, DFA's alignment.
pub fn float_text(bp: &CostedRun, dfa: &CostedRun) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "BP and DFA in floating point (no crossbars): {} MLP, {}; {}",
        network(&bp.config),
        data_line(&bp.config),
        backend_words(bp)
    );
    let _ = writeln!(
        s,
        "epoch  BP train_loss  BP test_acc  DFA train_loss  DFA test_acc  DFA alignment"
    );
    for (a, b) in bp.epochs.iter().zip(&dfa.epochs) {
        let _ = writeln!(
            s,
            "{:>5}  {:>13.4}  {:>10.2}%  {:>14.4}  {:>11.2}%  {}",
            a.epoch,
            a.train_loss,
            100.0 * a.test_accuracy,
            b.train_loss,
            100.0 * b.test_accuracy,
            b.alignment
                .as_ref()
                .map(|v| super::train::join(v))
                .unwrap_or_default()
        );
    }
    stopped(&mut s, bp, dfa);
    let fin = |r: &CostedRun| r.final_.as_ref().map(|f| f.test_accuracy).unwrap_or(0.0);
    let sps = |r: &CostedRun| {
        r.final_
            .as_ref()
            .map(|f| f.samples_per_second)
            .unwrap_or(0.0)
    };
    let _ = writeln!(
        s,
        "final test accuracy: BP {:.2}%  DFA {:.2}%   ({:.0} / {:.0} samples/s)",
        100.0 * fin(bp),
        100.0 * fin(dfa),
        sps(bp),
        sps(dfa)
    );
    s
}
