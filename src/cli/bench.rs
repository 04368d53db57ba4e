//! `insitu bench`: the benchmark suite on the chosen backend, as JSON and a table.

use std::path::PathBuf;

use super::backend::{open, BackendKind};
use crate::bench;

pub fn run(
    opts: &bench::Options,
    markdown: bool,
    out: Option<PathBuf>,
    kind: BackendKind,
    adapter: Option<String>,
) -> anyhow::Result<()> {
    super::outpath::check_files(&[(&out, "--out")])?;
    let mut be = open(kind, adapter)?;
    let report = bench::run(be.as_mut(), opts)?;
    if let Some(out) = &out {
        super::outpath::write(out, serde_json::to_vec_pretty(&report)?)?;
    }
    if markdown {
        print!("{}", bench::markdown(&report));
    } else {
        print!("{}", bench::table(&report));
    }
    if let Some(out) = out {
        println!("written {}", out.display());
    }
    Ok(())
}
