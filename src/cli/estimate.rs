//! `insitu estimate`: the chip report of an experiment, with no training.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::chip::{experiment, print_table};
use crate::config;
use crate::provenance::Provenance;

pub fn run(path: &Path, sets: &[String], out: Option<PathBuf>) -> anyhow::Result<()> {
    let cfg = config::load(path, sets)?;
    super::outpath::check_files(&[(&out, "--out")])?;
    let t0 = Instant::now();
    let report = experiment::report(&cfg, None)?;
    let secs = t0.elapsed().as_secs_f64();
    // The file first: a closed stdout (`| head`) must not lose it.
    if let Some(out) = &out {
        let mut v = serde_json::to_value(&report)?;
        v["provenance"] = serde_json::to_value(Provenance::capture(None, Some(&cfg)))?;
        v["config"] = serde_json::to_value(&cfg)?;
        v["estimate_seconds"] = secs.into();
        super::outpath::write(out, serde_json::to_vec_pretty(&v)?)?;
    }
    println!("{}", print_table(&report));
    println!(
        "activity: typical (shapes only; `insitu train` with [array] reports measured activity)"
    );
    println!("estimated in {:.2} ms", secs * 1e3);
    Ok(())
}
