//! `insitu compress`: PENNI on an experiment's conv network, with the stage table.

use std::path::{Path, PathBuf};

use super::backend::{open, BackendKind};
use crate::compress::config::CompressConfig;
use crate::compress::pipeline;
use crate::config;

/// Splits the experiment file into the experiment and its `[compress]` section, applying
/// `--set` overrides to either (keys starting `compress.` go to the latter).
pub fn load(
    path: &Path,
    sets: &[String],
) -> anyhow::Result<(config::ExperimentConfig, CompressConfig)> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut section = match table.remove("compress") {
        Some(toml::Value::Table(t)) => t,
        Some(_) => anyhow::bail!("{}: [compress] must be a table", path.display()),
        None => toml::Table::new(),
    };
    let mut rest = Vec::new();
    for s in sets {
        match s
            .strip_prefix("compress.")
            .and_then(|kv| kv.split_once('='))
        {
            Some((k, v)) => config::load::set_key(&mut section, k.trim(), v.trim())?,
            None => rest.push(s.clone()),
        }
    }
    let cc: CompressConfig = CompressConfig::deserialize(section)
        .map_err(|e| anyhow::anyhow!("{}: [compress]: {e}", path.display()))?;
    cc.validate()?;
    let cfg = config::parse(
        &toml::to_string(&table)?,
        &path.display().to_string(),
        &rest,
    )?;
    Ok((cfg, cc))
}

use serde::Deserialize;

pub struct Args {
    pub config: PathBuf,
    pub sets: Vec<String>,
    pub out: Option<PathBuf>,
    /// Start from this trained model (safetensors) instead of training a baseline.
    pub model: Option<PathBuf>,
    /// Save the baseline and the compressed model here (`<stem>.baseline.safetensors`,
    /// `<stem>.penni.safetensors`).
    pub save: Option<PathBuf>,
}

pub fn run(a: &Args, kind: BackendKind, adapter: Option<String>) -> anyhow::Result<()> {
    let (cfg, cc) = load(&a.config, &a.sets)?;
    anyhow::ensure!(
        crate::train::cnn::is_cnn(&cfg),
        "{}: compress needs a conv network (network.arch with C layers)",
        a.config.display()
    );
    let split = crate::data::load(&cfg.data)?;
    let baseline = match &a.model {
        Some(p) => Some(crate::model_io::load(p)?),
        None => None,
    };
    let mut be = open(kind, adapter)?;
    let (report, base, compressed) = pipeline::run(be.as_mut(), &cfg, &cc, &split, baseline)?;
    println!(
        "{} on {} ({})",
        cfg.name, report.adapter.name, report.adapter.backend
    );
    print!("{}", pipeline::table(&report));
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_vec_pretty(&report)?)?;
    }
    if let Some(stem) = &a.save {
        crate::model_io::save(&base, &stem.with_extension("baseline.safetensors"))?;
        crate::model_io::save(&compressed, &stem.with_extension("penni.safetensors"))?;
    }
    Ok(())
}
