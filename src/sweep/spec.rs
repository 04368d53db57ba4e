//! The sweep file: a base experiment, fixed overrides, axes and how they combine.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

use super::id::fnv1a64;

/// How the axes combine into points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every combination (first axis outermost).
    #[default]
    Grid,
    /// The i-th value of every axis together (equal lengths).
    Zip,
    /// `samples` draws, each axis from its `range` (or `values`).
    Random,
}

/// What a point does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Train and evaluate (the default).
    #[default]
    Train,
    /// Only the chip cost model (no training, no backend): area, energy, latency.
    Cost,
}

/// `seeds = 4` (seeds 1..=4) or `seeds = [3, 7]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Seeds {
    Count(u64),
    List(Vec<u64>),
}

impl Seeds {
    pub fn list(&self) -> Vec<u64> {
        match self {
            Seeds::Count(n) => (1..=*n).collect(),
            Seeds::List(v) => v.clone(),
        }
    }
}

/// One `[[axis]]`: one key (or several keys set together) and its values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisSpec {
    pub key: Option<String>,
    /// Several keys moved together; each value is then an array with one entry per key.
    pub keys: Option<Vec<String>>,
    pub values: Option<Vec<toml::Value>>,
    /// Random mode: draw from [lo, hi] (integers when both bounds are integers).
    pub range: Option<Vec<toml::Value>>,
    /// Random mode: draw log-uniformly.
    #[serde(default)]
    pub log: bool,
}

impl AxisSpec {
    /// The dotted keys this axis sets.
    pub fn keys(&self) -> Vec<String> {
        match (&self.key, &self.keys) {
            (Some(k), _) => vec![k.clone()],
            (None, Some(ks)) => ks.clone(),
            (None, None) => vec![],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The experiment file, relative to the sweep file.
    pub base: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Kind,
    #[serde(default)]
    pub mode: Mode,
    /// Overrides applied to every point (dotted keys, or nested tables).
    #[serde(default)]
    pub set: toml::Table,
    #[serde(default)]
    pub axis: Vec<AxisSpec>,
    /// Instance seeds: every combination of the axes runs once per seed.
    #[serde(default)]
    pub seeds: Option<Seeds>,
    /// Random mode: number of points before seeds.
    #[serde(default)]
    pub samples: Option<usize>,
    /// Random mode: the stream the samples come from.
    #[serde(default)]
    pub seed: u64,
    /// What to record per point (default: test_accuracy, train_loss, curves).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Largest population one packed run may train.
    #[serde(default = "default_max_population")]
    pub max_population: usize,
}

fn default_max_population() -> usize {
    64
}

/// A loaded sweep: the spec, its base experiment text and where they came from.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub spec: SpecFile,
    pub path: PathBuf,
    pub text: String,
    pub base_path: PathBuf,
    pub base_text: String,
    /// Fixed overrides as `key=value` strings, in file order.
    pub fixed: Vec<String>,
    /// Hash of the sweep and base texts: a result directory belongs to one of these.
    pub hash: String,
}

impl Sweep {
    /// The base experiment with `sets` (all from the sweep file): the base's paths resolve
    /// against the base's directory, paths set by the sweep against the sweep file's.
    pub fn config(
        &self,
        sets: &[String],
    ) -> Result<crate::config::ExperimentConfig, crate::config::ConfigError> {
        crate::config::parse_in(
            &self.base_text,
            &self.base_path.display().to_string(),
            Some(&crate::config::dir_of(&self.base_path)),
            sets,
            Some(&crate::config::dir_of(&self.path)),
        )
    }

    pub fn name(&self) -> String {
        self.spec.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }
}

/// Reads a sweep file and its base experiment.
pub fn load(path: &Path) -> anyhow::Result<Sweep> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading sweep file {}", path.display()))?;
    parse(&text, path)
}

/// Parses sweep text that lives at `path` (the base is resolved relative to it).
pub fn parse(text: &str, path: &Path) -> anyhow::Result<Sweep> {
    let spec: SpecFile =
        toml::from_str(text).with_context(|| format!("sweep file {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let base_path = dir.join(&spec.base);
    let base_text = std::fs::read_to_string(&base_path).with_context(|| {
        format!(
            "{}: base = \"{}\" (read as {})",
            path.display(),
            spec.base,
            base_path.display()
        )
    })?;
    if spec.max_population == 0 {
        bail!("{}: max_population = 0: allowed 1 or more", path.display());
    }
    let mut fixed = Vec::new();
    flatten("", &spec.set, &mut fixed);
    let hash = format!(
        "{:016x}",
        fnv1a64(format!("{text}\0{base_text}").as_bytes())
    );
    Ok(Sweep {
        spec,
        path: path.to_path_buf(),
        text: text.to_string(),
        base_path,
        base_text,
        fixed,
        hash,
    })
}

/// `[set]` as `key=value` strings: nested tables become dotted keys.
fn flatten(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            _ => out.push(format!("{key}={v}")),
        }
    }
}
