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
        crate::train::trainer::is_cnn(&cfg),
        "{}: compress needs a conv network (network.arch with C layers)",
        a.config.display()
    );
    let saves = a.save.as_ref().map(|s| save_paths(s));
    let (base_path, penni_path) = match &saves {
        Some((b, p)) => (Some(b.clone()), Some(p.clone())),
        None => (None, None),
    };
    super::outpath::check_files(&[
        (&a.out, "--out"),
        (&base_path, "--save"),
        (&penni_path, "--save"),
    ])?;
    let split = crate::data::load(&cfg.data)?;
    let baseline = match &a.model {
        Some(p) => {
            let m = crate::model_io::load(p)?;
            let want = crate::train::trainer::init_model(&cfg, &split)?;
            m.check_matches(&want)
                .map_err(|e| anyhow::anyhow!("--model {}: {e}", p.display()))?;
            Some(m)
        }
        None => None,
    };
    let mut be = open(kind, adapter)?;
    let (report, base, compressed) = pipeline::run(be.as_mut(), &cfg, &cc, &split, baseline)?;
    if let Some(out) = &a.out {
        super::outpath::write(out, serde_json::to_vec_pretty(&report)?)?;
    }
    if let Some((b, p)) = &saves {
        crate::model_io::save(&base, b)?;
        crate::model_io::save(&compressed, p)?;
    }
    println!(
        "{} on {} ({})",
        cfg.name, report.adapter.name, report.adapter.backend
    );
    print!("{}", pipeline::table(&report));
    Ok(())
}

/// `<stem>.baseline.safetensors` and `<stem>.penni.safetensors`: the whole name given is the
/// stem (`model.v1` keeps its `.v1`), less a trailing `.safetensors`.
pub fn save_paths(stem: &Path) -> (PathBuf, PathBuf) {
    let s = stem.as_os_str().to_string_lossy();
    let s = s.strip_suffix(".safetensors").unwrap_or(&s);
    (
        PathBuf::from(format!("{s}.baseline.safetensors")),
        PathBuf::from(format!("{s}.penni.safetensors")),
    )
}
