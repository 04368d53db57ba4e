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
    let mut be = open(kind, adapter)?;
    let report = bench::run(be.as_mut(), opts)?;
    if markdown {
        print!("{}", bench::markdown(&report));
    } else {
        print!("{}", bench::table(&report));
    }
    if let Some(out) = out {
        std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
        println!("written {}", out.display());
    }
    Ok(())
}
