//! `insitu robustness`: BP vs DFA (and a tanh-BP control) at their tuned hyper-parameters on
//! float, symmetric and asymmetric FeFET-like chips and under stronger nonidealities, several
//! seeds per point; `--search` runs the hyper-parameter search on a validation split instead.

use std::path::{Path, PathBuf};

use super::backend::{open, BackendKind};
use crate::config;
use crate::data;
use crate::provenance::Provenance;
use crate::study::robustness::{self, Arm};
use crate::study::search::{self, Grid};

const BP: (&str, &str) = (
    include_str!("../../configs/xbar_mlp_bp.toml"),
    "configs/xbar_mlp_bp.toml",
);
const DFA: (&str, &str) = (
    include_str!("../../configs/xbar_mlp_dfa.toml"),
    "configs/xbar_mlp_dfa.toml",
);

fn arm(name: &'static str, (base, origin): (&'static str, &'static str), sets: &[&str]) -> Arm {
    Arm {
        name,
        base,
        origin,
        sets: sets.iter().map(|s| s.to_string()).collect(),
    }
}

/// The rules at the values `--search` chose (docs/robustness.md lists the search).
pub fn tuned_arms() -> Vec<Arm> {
    vec![
        arm("bp", BP, &["network.init=xavier", "optimizer.lr=0.05"]),
        arm("dfa", DFA, &["network.init=xavier", "optimizer.lr=0.1"]),
        arm(
            "bp_tanh",
            BP,
            &[
                "network.activation=tanh",
                "network.init=xavier",
                "optimizer.lr=0.025",
            ],
        ),
    ]
}

/// The search grid per rule: initialisation x learning rate.
pub fn grids() -> Vec<Grid> {
    vec![
        Grid {
            arm: arm("bp", BP, &[]),
            inits: vec!["he", "xavier"],
            lrs: vec![0.025, 0.05, 0.1],
        },
        Grid {
            arm: arm("dfa", DFA, &[]),
            inits: vec!["xavier", "zero"],
            lrs: vec![0.02, 0.05, 0.1],
        },
        Grid {
            arm: arm("bp_tanh", BP, &["network.activation=tanh"]),
            inits: vec!["xavier"],
            lrs: vec![0.025, 0.05, 0.1],
        },
    ]
}

/// Study settings applied before the user's overrides: the full 784-256-256-10 network on the
/// whole embedded set, long enough to converge, ADC ranges recalibrated every epoch (ranges set
/// once let BP's transposed reads clip up to 29% of conversions as errors grow sparse).
const STUDY: [&str; 3] = [
    "train.epochs=8",
    "train.alignment=false",
    "array.adc_recalibrate_epoch=true",
];

/// The search holds out the last 1,000 training images as its validation split.
const SEARCH: [&str; 4] = [
    "train.epochs=8",
    "train.alignment=false",
    "array.adc_recalibrate_epoch=true",
    "data.val_split=1000",
];

pub struct Options {
    pub sets: Vec<String>,
    pub out: Option<PathBuf>,
    pub seeds: u64,
    pub search: bool,
    /// Only these rules (empty: all), e.g. to run rules as separate processes.
    pub rules: Vec<String>,
    /// Summarise the points of these earlier `--out` directories instead of training.
    pub from: Vec<PathBuf>,
}

/// Keeps the rules named in `only` (all when empty); an unknown name is an error.
fn select<T>(all: Vec<T>, name: impl Fn(&T) -> &str, only: &[String]) -> anyhow::Result<Vec<T>> {
    let known: Vec<String> = all.iter().map(|a| name(a).to_string()).collect();
    if let Some(bad) = only.iter().find(|r| !known.contains(r)) {
        anyhow::bail!("--rules {bad}: allowed {}", known.join(", "));
    }
    Ok(all
        .into_iter()
        .filter(|a| only.is_empty() || only.iter().any(|r| r == name(a)))
        .collect())
}

/// Reads the points of earlier study directories and writes their joint summary.
fn combine(opts: &Options) -> anyhow::Result<()> {
    let mut points: Vec<robustness::Point> = Vec::new();
    let mut seconds = 0.0;
    for dir in &opts.from {
        let file = dir.join("robustness.json");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("--from {}: {e}", file.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("--from {}: {e}", file.display()))?;
        let p: Vec<robustness::Point> = serde_json::from_value(v["points"].clone())
            .map_err(|e| anyhow::anyhow!("--from {}: points: {e}", file.display()))?;
        seconds += v["seconds"].as_f64().unwrap_or(0.0);
        points.extend(p);
    }
    let provenance = Provenance::capture(None, None::<&()>);
    if let Some(dir) = &opts.out {
        super::outpath::check_dir(dir, "--out")?;
        write_study(dir, &points, &provenance, &opts.sets, seconds)?;
    }
    print_study(&points, "from earlier runs", seconds);
    Ok(())
}

fn print_study(points: &[robustness::Point], device: &str, seconds: f64) {
    let summaries = robustness::summarize(points);
    let seeds = summaries.iter().map(|s| s.seeds).max().unwrap_or(0);
    println!(
        "test accuracy (%), mean ± std over {seeds} seeds (drop from float ± its standard error); \
         {device}, {seconds:.0} s of training"
    );
    print!("{}", robustness::table(&summaries));
    println!(
        "\nBP vs DFA drop from float; a difference beyond {} combined standard errors counts",
        robustness::CRITERION_SE
    );
    print!(
        "{}",
        robustness::comparison_table(&robustness::compare(&summaries, "bp", "dfa"))
    );
}

fn with_defaults(defaults: &[&str], sets: &[String]) -> Vec<String> {
    defaults
        .iter()
        .map(|s| s.to_string())
        .chain(sets.iter().cloned())
        .collect()
}

pub fn run(opts: Options, kind: BackendKind, adapter: Option<String>) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=64).contains(&opts.seeds),
        "--seeds {}: allowed 1..=64",
        opts.seeds
    );
    if !opts.from.is_empty() {
        return combine(&opts);
    }
    let seeds: Vec<u64> = (1..=opts.seeds).collect();
    let sets = with_defaults(if opts.search { &SEARCH } else { &STUDY }, &opts.sets);
    // Every rule reads the same data section; load it once.
    let cfg = config::parse(BP.0, BP.1, &sets)?;
    if let Some(dir) = &opts.out {
        super::outpath::check_dir(dir, "--out")?;
    }
    let split = data::load(&cfg.data)?;
    let mut be = open(kind, adapter)?;
    let provenance = Provenance::capture(Some(&be.describe()), Some(&cfg));
    let start = std::time::Instant::now();
    let device = format!("{} on {}", be.describe().backend, be.describe().name);
    if opts.search {
        return run_search(
            be.as_mut(),
            &opts,
            &sets,
            &seeds,
            &split,
            &provenance,
            start,
        );
    }
    let arms = select(tuned_arms(), |a| a.name, &opts.rules)?;
    let conds = robustness::conditions();
    let bar = crate::progress::bar(
        (arms.len() * conds.len() * seeds.len()) as u64,
        "chips",
        "robustness",
    );
    let mut failed: Option<anyhow::Error> = None;
    let out = opts.out.clone();
    let save = |points: &[robustness::Point]| {
        if let (Some(dir), None) = (&out, &failed) {
            // Rewritten after every run: an interrupted study keeps what it finished.
            let secs = start.elapsed().as_secs_f64();
            failed = write_study(dir, points, &provenance, &sets, secs).err();
        }
        bar.set_position(points.len() as u64);
    };
    let points = robustness::run(be.as_mut(), &arms, &conds, &sets, &seeds, &split, save);
    bar.finish_and_clear();
    let points = points?;
    if let Some(e) = failed {
        return Err(e);
    }
    print_study(&points, &device, start.elapsed().as_secs_f64());
    Ok(())
}

fn write_study(
    dir: &Path,
    points: &[robustness::Point],
    provenance: &Provenance,
    sets: &[String],
    seconds: f64,
) -> anyhow::Result<()> {
    let summaries = robustness::summarize(points);
    let comparison = robustness::compare(&summaries, "bp", "dfa");
    let json = serde_json::to_vec_pretty(&serde_json::json!({
        "provenance": provenance,
        "overrides": sets,
        "seconds": seconds,
        "criterion_se": robustness::CRITERION_SE,
        "summaries": &summaries,
        "comparison": &comparison,
        "points": points,
    }))?;
    super::outpath::write(&dir.join("robustness.json"), json)?;
    super::outpath::write(&dir.join("robustness.csv"), robustness::csv(points))?;
    let md = format!(
        "{}\n{}",
        robustness::table(&summaries),
        robustness::comparison_table(&comparison)
    );
    super::outpath::write(&dir.join("robustness.md"), md)?;
    let fig = crate::plot::Figure::Lines(crate::plot::study::figure(
        &summaries,
        "784-256-256-10 in situ: BP vs DFA vs tanh-BP (error bars: ±1 std over seeds)",
    ));
    crate::plot::save(&fig, &dir.join("robustness.svg"))?;
    crate::plot::save(&fig, &dir.join("robustness.png"))
}

fn run_search(
    be: &mut dyn crate::backend::Backend,
    opts: &Options,
    sets: &[String],
    seeds: &[u64],
    split: &data::Split,
    provenance: &Provenance,
    start: std::time::Instant,
) -> anyhow::Result<()> {
    let grids = select(grids(), |g| g.arm.name, &opts.rules)?;
    let total: usize = grids.iter().map(|g| g.inits.len() * g.lrs.len()).sum();
    let bar = crate::progress::bar(total as u64, "grid points", "search");
    let mut failed: Option<anyhow::Error> = None;
    let save = |trials: &[search::Trial]| {
        if let (Some(dir), None) = (&opts.out, &failed) {
            let json = serde_json::to_vec_pretty(&serde_json::json!({
                "provenance": provenance,
                "overrides": sets,
                "seconds": start.elapsed().as_secs_f64(),
                "trials": trials,
            }))
            .map_err(anyhow::Error::from);
            failed = json
                .and_then(|j| super::outpath::write(&dir.join("search.json"), j))
                .and_then(|_| super::outpath::write(&dir.join("search.md"), search::table(trials)))
                .err();
        }
        bar.set_position(trials.len() as u64);
    };
    let trials = search::run(be, &grids, sets, seeds, split, save);
    bar.finish_and_clear();
    let trials = trials?;
    if let Some(e) = failed {
        return Err(e);
    }
    println!(
        "validation accuracy on {} ({} seeds, {:.0} s)",
        split.name,
        seeds.len(),
        start.elapsed().as_secs_f64()
    );
    print!("{}", search::table(&trials));
    Ok(())
}
