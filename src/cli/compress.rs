//! `insitu compress`: PENNI on an experiment's conv network, with the stage table.

use std::path::{Path, PathBuf};

use super::backend::{open, BackendKind};
use crate::compress::config::CompressConfig;
use crate::compress::pipeline;
use crate::config;

/// The experiment and its `[compress]` section (defaults when absent); `--set compress.x=v`
/// overrides like any other field.
pub fn load(
    path: &Path,
    sets: &[String],
) -> anyhow::Result<(config::ExperimentConfig, CompressConfig)> {
    let cfg = config::load(path, sets)?;
    let cc = cfg.compress.clone().unwrap_or_default();
    Ok((cfg, cc))
}

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
