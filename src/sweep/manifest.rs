//! `sweep.json` in a result directory: which sweep (by hash), how it was packed and sharded,
//! and every point id of the whole sweep, so that resume refuses a changed spec and merge can
//! check completeness without the original files.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

pub const FILE: &str = "sweep.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    /// Hash of the sweep file and its base experiment.
    pub hash: String,
    pub max_population: usize,
    /// `I/N` when this directory holds one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub version: String,
    /// The run that wrote this directory (the latest, after a resume): commit, command line,
    /// time, host; `config_hash` is the sweep's hash.
    #[serde(default)]
    pub provenance: crate::provenance::Provenance,
    /// Ids of all points of the sweep (every shard), in index order.
    pub points: Vec<String>,
}

impl Manifest {
    pub fn read(dir: &Path) -> anyhow::Result<Manifest> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (is this a sweep output directory?)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let tmp = dir.join(format!("{FILE}.partial"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, dir.join(FILE))?;
        Ok(())
    }

    /// Whether `self` (found on disk) and `now` describe the same run, for `--resume`.
    pub fn check_resume(&self, now: &Manifest, dir: &Path) -> anyhow::Result<()> {
        let d = dir.display();
        if self.hash != now.hash {
            bail!(
                "{d} holds results of a different sweep (the sweep file or its base experiment \
                 changed since): resume with the original files, or use a new --out"
            );
        }
        if self.max_population != now.max_population {
            bail!(
                "{d} was run with max_population = {}, now {}: points would be packed \
                 differently (and draw different random streams); use the same value",
                self.max_population,
                now.max_population
            );
        }
        if self.shard != now.shard {
            bail!(
                "{d} holds shard {}, now asked for {}: resume each shard into its own directory",
                self.shard.as_deref().unwrap_or("(whole sweep)"),
                now.shard.as_deref().unwrap_or("(whole sweep)")
            );
        }
        Ok(())
    }
}
