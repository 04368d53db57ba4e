//! `insitu bench`: the benchmark suite on the chosen backend, as JSON and a table.

use std::path::PathBuf;

use super::backend::{open, BackendKind};
use crate::bench;
use crate::provenance::Provenance;

pub fn run(
    opts: &bench::Options,
    markdown: bool,
    out: Option<PathBuf>,
    kind: BackendKind,
    adapter: Option<String>,
) -> anyhow::Result<()> {
    super::outpath::check_files(&[(&out, "--out")])?;
    let mut be = open(kind, adapter)?;
    let spin = crate::progress::spinner("bench");
    let report = bench::run(be.as_mut(), opts);
    spin.finish_and_clear();
    let report = report?;
    if let Some(out) = &out {
        let mut v = serde_json::to_value(&report)?;
        v["provenance"] =
            serde_json::to_value(Provenance::capture(Some(&report.adapter), None::<&()>))?;
        super::outpath::write(out, serde_json::to_vec_pretty(&v)?)?;
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
