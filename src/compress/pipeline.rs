//! The PENNI pipeline on a backend: baseline, decomposed, retrained (L1 on coefficients,
//! alternating bases and coefficients), pruned, fine-tuned (pruned entries masked), shrunk;
//! each stage evaluated in inference form with its counts, run-time memory, measured latency,
//! and the chip cost of the dense and the compressed network.

use std::time::Instant;

use serde::Serialize;

use super::config::CompressConfig;
use super::penni;
use super::phase::{train_phase, Phase};
use crate::backend::Backend;
use crate::chip::{self, ChipReport, EstimateRequest};
use crate::config::ExperimentConfig;
use crate::data::Split;
use crate::nn::counts::Counts;
use crate::nn::model::Model;
use crate::report::EpochRecord;
use crate::train::trainer::{self, Trainer};

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub test_accuracy: f64,
    #[serde(flatten)]
    pub counts: Counts,
    #[serde(flatten)]
    pub memory: Memory,
    /// Wall time of one forward batch on the backend (test set, inference form).
    pub latency_s_per_batch: f64,
    /// Training time spent in this stage.
    pub train_seconds: f64,
    /// Test accuracy with every layer on the experiment's crossbars (when it has `[array]`),
    /// and the crossbar reads and ADC conversions of that evaluation.
    pub crossbar_accuracy: Option<f64>,
    pub crossbar_reads: Option<u64>,
    pub crossbar_adc_conversions: Option<u64>,
    /// The stage's training epochs (retrained, fine-tuned): loss, accuracies, seconds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<EpochRecord>,
}

/// Run-time memory of inference on one image (f32 everywhere; see docs/penni.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Memory {
    /// Every stored parameter (weights, bases, coefficients, biases): 4 bytes each.
    pub weight_bytes: usize,
    /// The largest set of maps live at once in one layer: its input, its output before and
    /// after pooling, and a PENNI layer's basis maps.
    pub activation_bytes_per_image: usize,
    /// The sum: what inference on one image holds.
    pub runtime_bytes: usize,
}

/// [`Memory`] of `model`.
pub fn runtime_memory(model: &Model) -> Memory {
    use crate::nn::model::{ConvWeights, Layer};
    let dims = model.dims();
    let live = (0..model.layers.len()).map(|l| {
        let input: usize = dims[l].iter().product();
        let output: usize = dims[l + 1].iter().product();
        match (&model.layers[l], model.geom(l)) {
            (Layer::Conv(c), Some(g)) => {
                let conv = c.c_out * g.positions();
                let pooled = if c.pool.is_some() { output } else { 0 };
                let maps = match &c.weights {
                    ConvWeights::Penni(p) => p.d * c.c_in * g.positions(),
                    ConvWeights::Dense(_) => 0,
                };
                input + conv + pooled + maps
            }
            _ => input + output,
        }
    });
    let weight_bytes = 4 * model.total().params;
    let activation_bytes_per_image = 4 * live.max().unwrap_or(0);
    Memory {
        weight_bytes,
        activation_bytes_per_image,
        runtime_bytes: weight_bytes + activation_bytes_per_image,
    }
}

/// Area, energy and latency of one network on the experiment's chip.
#[derive(Debug, Clone, Serialize)]
pub struct ChipCost {
    pub area_mm2: f64,
    pub energy_j_per_image: f64,
    pub latency_s_per_image: f64,
    pub subarrays: usize,
    /// The full report.
    pub report: ChipReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompressReport {
    pub provenance: crate::provenance::Provenance,
    pub adapter: crate::gpu::AdapterSummary,
    pub config: ExperimentConfig,
    pub compress: CompressConfig,
    pub batch: usize,
    pub stages: Vec<Stage>,
    /// Fractions removed by the final stage relative to the baseline.
    pub macs_removed: f64,
    pub coefficients_removed: f64,
    pub params_removed: f64,
    pub accuracy_change: f64,
    /// Channels per conv layer after shrinking, and bases kept.
    pub shrunk_layers: Vec<String>,
    pub chip_dense: Option<ChipCost>,
    pub chip_compressed: Option<ChipCost>,
}

/// Test accuracy and seconds per batch of `model` (PENNI layers in inference form).
pub fn evaluate(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    model: &Model,
    split: &Split,
) -> anyhow::Result<(f64, f64)> {
    let hyper = trainer::hyper(cfg, split.train.len());
    let mut t = Trainer::new(be, model, hyper, split, cfg.seed)?;
    t.net.inference_form = true;
    t.evaluate(); // warm-up (pipelines, caches)
    let (_, acc, lat) = t.evaluate();
    Ok((acc, lat))
}

/// The chip cost of `model`'s crossbar layers on the experiment's chip.
pub fn chip_cost(cfg: &ExperimentConfig, model: &Model) -> anyhow::Result<ChipCost> {
    let chip_cfg = cfg.chip.clone().unwrap_or_default();
    let array = cfg.array.clone().unwrap_or_default();
    let layers = model.folded().chip_layers(&array);
    let device = cfg.device.clone().unwrap_or_default();
    let report = chip::estimate(&EstimateRequest {
        chip: &chip_cfg,
        array: &array,
        device: &device,
        layers: &layers,
        activity: None,
        training: None,
    })?;
    Ok(ChipCost {
        area_mm2: report.area_mm2.total,
        energy_j_per_image: report.inference.energy_j,
        latency_s_per_image: report.inference.latency_s,
        subarrays: report.area_mm2.subarrays,
        report,
    })
}

fn describe_layers(model: &Model) -> Vec<String> {
    use crate::nn::model::{ConvWeights, Layer};
    model
        .layers
        .iter()
        .map(|l| match l {
            Layer::Conv(c) => match &c.weights {
                ConvWeights::Dense(_) => format!("conv {}->{} k{} dense", c.c_in, c.c_out, c.k),
                ConvWeights::Penni(p) => {
                    format!("conv {}->{} k{} d={}", c.c_in, c.c_out, c.k, p.d)
                }
            },
            Layer::Fc(f) => format!("fc {}->{}", f.fan_in, f.fan_out),
        })
        .collect()
}

/// Runs every stage from `baseline` (or trains one with the experiment's settings).
pub fn run(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    cc: &CompressConfig,
    split: &Split,
    baseline: Option<Model>,
) -> anyhow::Result<(CompressReport, Model, Model)> {
    cc.validate()?;
    let mut stages = Vec::new();
    let stage = |be: &mut dyn Backend,
                 name: &str,
                 m: &Model,
                 secs: f64,
                 epochs: Vec<EpochRecord>|
     -> anyhow::Result<Stage> {
        let (acc, lat) = evaluate(be, cfg, m, split)?;
        let xb = match cfg.array {
            Some(_) => Some(crate::train::xbar_eval::evaluate(be, cfg, m, split)?),
            None => None,
        };
        let s = Stage {
            name: name.into(),
            test_accuracy: acc,
            counts: m.total(),
            memory: runtime_memory(m),
            latency_s_per_batch: lat,
            train_seconds: secs,
            crossbar_accuracy: xb.as_ref().map(|x| x.accuracy),
            crossbar_reads: xb.as_ref().map(|x| x.reads),
            crossbar_adc_conversions: xb.as_ref().map(|x| x.adc_conversions),
            epochs,
        };
        if !crate::progress::quiet() {
            eprintln!(
                "{name}: test accuracy {:.2}%{}, MACs {}, non-zero coefficients {}",
                100.0 * acc,
                s.crossbar_accuracy.map_or(String::new(), |a| format!(
                    " ({:.2}% on crossbars)",
                    100.0 * a
                )),
                s.counts.macs,
                s.counts.nonzero_coefficients
            );
        }
        Ok(s)
    };
    let t0 = Instant::now();
    let (base, base_secs) = match baseline {
        Some(m) => (m, 0.0),
        None => {
            let opts = crate::train::RunOptions {
                progress: true,
                label: "baseline".into(),
                ..Default::default()
            };
            let (r, m) = trainer::train(be, cfg, split, &opts, None)?;
            for e in r.epochs.iter().filter(|_| !crate::progress::quiet()) {
                eprintln!(
                    "  baseline epoch {}: loss {:.4}, test accuracy {:.2}%",
                    e.epoch,
                    e.train_loss,
                    100.0 * e.test_accuracy
                );
            }
            (m, t0.elapsed().as_secs_f64())
        }
    };
    stages.push(stage(be, "baseline", &base, base_secs, vec![])?);
    let mut m = base.clone();
    penni::decompose(&mut m, cc.basis);
    stages.push(stage(be, "decomposed", &m, 0.0, vec![])?);
    let (mut m, secs, ep) = train_phase(be, cfg, cc, &m, split, Phase::Retrain, &[], "retrain")?;
    stages.push(stage(be, "retrained", &m, secs, ep)?);
    let masks = penni::prune(&mut m, cc.threshold);
    stages.push(stage(be, "pruned", &m, 0.0, vec![])?);
    let (mut m, secs, ep) =
        train_phase(be, cfg, cc, &m, split, Phase::FineTune, &masks, "fine-tune")?;
    stages.push(stage(be, "fine-tuned", &m, secs, ep)?);
    penni::shrink(&mut m);
    stages.push(stage(be, "shrunk", &m, 0.0, vec![])?);
    let (first, last) = (&stages[0], stages.last().unwrap());
    let frac = |a: usize, b: usize| {
        if a > 0 {
            1.0 - b as f64 / a as f64
        } else {
            0.0
        }
    };
    // Coefficients removed, against the decomposed network's full coefficient set.
    let coefficients_removed = frac(
        stages[1].counts.coefficients,
        last.counts.nonzero_coefficients,
    );
    let warn = |e: anyhow::Error| {
        eprintln!("warning: chip cost not estimated: {e:#}");
    };
    let adapter = be.describe();
    let report = CompressReport {
        provenance: crate::provenance::Provenance::capture(Some(&adapter), Some(cfg)),
        adapter,
        config: cfg.clone(),
        compress: cc.clone(),
        batch: trainer::hyper(cfg, split.train.len()).batch,
        macs_removed: frac(first.counts.macs, last.counts.macs),
        coefficients_removed,
        params_removed: frac(first.counts.nonzero_params, last.counts.nonzero_params),
        accuracy_change: last.test_accuracy - first.test_accuracy,
        shrunk_layers: describe_layers(&m),
        chip_dense: chip_cost(cfg, &base).map_err(warn).ok(),
        chip_compressed: chip_cost(cfg, &m).map_err(warn).ok(),
        stages,
    };
    Ok((report, base, m))
}

/// The stage table as text.
pub fn table(r: &CompressReport) -> String {
    let xbar = r.stages.iter().any(|st| st.crossbar_accuracy.is_some());
    let mut s = format!(
        "{:<11} {:>9}{} {:>9} {:>11} {:>10} {:>10} {:>11} {:>12}\n",
        "stage",
        "accuracy",
        if xbar { "  xbar acc" } else { "" },
        "params",
        "nz params",
        "nz coef",
        "MACs",
        "memory KiB",
        "ms/batch"
    );
    for st in &r.stages {
        let xb = st
            .crossbar_accuracy
            .map_or(String::new(), |a| format!(" {:>8.2}%", 100.0 * a));
        s += &format!(
            "{:<11} {:>8.2}%{} {:>9} {:>11} {:>10} {:>10} {:>11.1} {:>12.2}\n",
            st.name,
            100.0 * st.test_accuracy,
            xb,
            st.counts.params,
            st.counts.nonzero_params,
            st.counts.nonzero_coefficients,
            st.counts.macs,
            st.memory.runtime_bytes as f64 / 1024.0,
            1e3 * st.latency_s_per_batch
        );
    }
    s += &format!(
        "MACs removed {:.1}%, coefficients removed {:.1}%, non-zero parameters removed {:.1}%, \
         accuracy change {:+.2} points (batch {})\n",
        100.0 * r.macs_removed,
        100.0 * r.coefficients_removed,
        100.0 * r.params_removed,
        100.0 * r.accuracy_change,
        r.batch
    );
    s += &format!("shrunk layers: {}\n", r.shrunk_layers.join(", "));
    if let (Some(d), Some(c)) = (&r.chip_dense, &r.chip_compressed) {
        s += &format!(
            "chip        {:>10} {:>14} {:>14} {:>10}\n",
            "area mm2", "energy uJ/img", "latency us/img", "subarrays"
        );
        for (name, x) in [("dense", d), ("compressed", c)] {
            s += &format!(
                "{:<11} {:>10.3} {:>14.4} {:>14.3} {:>10}\n",
                name,
                x.area_mm2,
                1e6 * x.energy_j_per_image,
                1e6 * x.latency_s_per_image,
                x.subarrays
            );
        }
    }
    s
}
