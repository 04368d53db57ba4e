//! `insitu robustness`: BP vs DFA in situ under one nonideality at a time.

use std::path::PathBuf;

use super::backend::{open, BackendKind};
use crate::config;
use crate::data;
use crate::provenance::Provenance;
use crate::study::robustness;

/// The reference chips: the shipped in-situ configs (FeFET-like, 5-bit cells, 6-bit ADC).
const REFERENCES: [robustness::Reference; 2] = [
    (
        "bp",
        include_str!("../../configs/xbar_mlp_bp.toml"),
        "configs/xbar_mlp_bp.toml",
    ),
    (
        "dfa",
        include_str!("../../configs/xbar_mlp_dfa.toml"),
        "configs/xbar_mlp_dfa.toml",
    ),
];

/// A study-sized network and run, applied before the user's overrides.
const DEFAULTS: [&str; 4] = [
    "network.hidden=[128]",
    "train.epochs=3",
    "data.train_limit=2000",
    "data.test_limit=1000",
];

pub fn run(
    sets: &[String],
    out: Option<PathBuf>,
    kind: BackendKind,
    adapter: Option<String>,
) -> anyhow::Result<()> {
    let sets: Vec<String> = DEFAULTS
        .iter()
        .map(|s| s.to_string())
        .chain(sets.iter().cloned())
        .collect();
    let (_, base, origin) = REFERENCES[0];
    let cfg = config::parse(base, origin, &sets)?;
    if let Some(dir) = &out {
        super::outpath::check_dir(dir, "--out")?;
    }
    let split = data::load(&cfg.data)?;
    let mut be = open(kind, adapter)?;
    let provenance = Provenance::capture(Some(&be.describe()), Some(&cfg));
    let total = (robustness::points_per_rule() * REFERENCES.len()) as u64;
    let bar = crate::progress::bar(total, "points", "robustness");
    let mut failed: Option<anyhow::Error> = None;
    let save = |points: &[robustness::Point]| {
        if let (Some(dir), None) = (&out, &failed) {
            // Rewritten after every run: an interrupted study keeps what it finished.
            let json = serde_json::to_vec_pretty(&serde_json::json!({
                "provenance": &provenance,
                "overrides": &sets,
                "points": points,
            }))
            .map_err(anyhow::Error::from);
            let written =
                super::outpath::write(&dir.join("robustness.csv"), robustness::csv(points))
                    .and(json)
                    .and_then(|j| super::outpath::write(&dir.join("robustness.json"), j));
            failed = written.err();
        }
        bar.set_position(points.len() as u64);
    };
    let points = robustness::run(be.as_mut(), &REFERENCES, &sets, &split, save);
    bar.finish_and_clear();
    let points = points?;
    if let Some(e) = failed {
        return Err(e);
    }
    println!(
        "in-situ test accuracy, one knob at a time from the reference (FeFET-like, 5-bit cells, \
         6-bit ADC); {} on {}",
        be.describe().backend,
        be.describe().name
    );
    print!("{}", robustness::table(&points));
    Ok(())
}
