//! The chip an experiment runs on: its layer shapes, array, device and workload, and measured
//! crossbar activity turned into the cost model's per-layer activity.

use super::{estimate, ChipConfig, ChipReport, EstimateRequest, LayerActivity, TrainingWorkload};
use crate::backend::XbarActivity;
pub use crate::config::data_shape;
use crate::config::{ArrayConfig, ExperimentConfig, Rule};
use crate::data::Source;
use crate::nn::arch::{self, LayerShape};

/// Training images per epoch (the data set's size, or its limit), less the held-out
/// validation split.
fn samples_per_epoch(cfg: &ExperimentConfig) -> usize {
    let full = match cfg.data.source {
        Source::Mnist5k => 4000,
        Source::Cifar10 | Source::Cifar100 => 50_000,
        Source::Idx | Source::Npy => 60_000,
    };
    let n = if cfg.data.train_limit > 0 {
        cfg.data.train_limit.min(full)
    } else {
        full
    };
    n.saturating_sub(cfg.data.val_split).max(1)
}

/// The weight layers: from `chip.netlist`, else `network.arch`, else the MLP of
/// `network.hidden`.
pub fn layer_shapes(cfg: &ExperimentConfig) -> anyhow::Result<Vec<LayerShape>> {
    if let Some(path) = cfg.chip.as_ref().and_then(|c| c.netlist.clone()) {
        return Ok(super::netlist::load(&path)?);
    }
    let (input, classes) = data_shape(cfg);
    let text = match &cfg.network.arch {
        Some(a) => a.clone(),
        None => cfg
            .network
            .hidden
            .iter()
            .chain(std::iter::once(&classes))
            .map(|h| format!("FC{h}"))
            .collect::<Vec<_>>()
            .join("-"),
    };
    Ok(arch::parse_shapes(&text, input)?)
}

/// Per-layer activity per image (reads) and per step (writes) from the crossbar counters. A
/// conv layer reads one input vector per output pixel, so its per-image counts are per-vector
/// counts times its positions.
pub fn measured(cfg: &ExperimentConfig, acts: &[XbarActivity]) -> Vec<LayerActivity> {
    let array = cfg.array.clone().unwrap_or_default();
    // (fan_in, fan_out, positions) of each weight layer.
    let shapes: Vec<(f64, f64, f64)> = match layer_shapes(cfg) {
        Ok(s) if s.len() == acts.len() => s
            .iter()
            .map(|l| (l.fan_in as f64, l.fan_out as f64, l.positions as f64))
            .collect(),
        _ => {
            let (input, classes) = data_shape(cfg);
            let mut s = vec![input.iter().product()];
            s.extend(&cfg.network.hidden);
            s.push(classes);
            s.windows(2)
                .map(|w| (w[0] as f64, w[1] as f64, 1.0))
                .collect()
        }
    };
    let per = |num: u64, den: f64| if den > 0.0 { num as f64 / den } else { 0.0 };
    acts.iter()
        .zip(&shapes)
        .map(|(a, &(fan_in, fan_out, positions))| {
            let t_in = array.input_bits.div_ceil(array.dac_bits) as f64;
            let t_err = array.error_bits.div_ceil(array.dac_bits) as f64;
            let vf = a.vectors_forward as f64;
            let vt = a.vectors_transposed as f64;
            let images = vf / positions;
            let updates = a.updates as f64;
            LayerActivity {
                input_density: per(a.forward.active_rows, vf * t_in * fan_in).min(1.0),
                error_density: per(a.transposed.active_rows, 2.0 * vt * t_err * fan_out).min(1.0),
                adc_conversions: per(a.forward.adc_conversions, images),
                clipped_conversions: per(a.forward.adc_clipped, images),
                write_pulses: per(a.write_pulses, updates),
                max_pulses_per_row: per(a.row_max_pulses, updates * fan_in),
            }
        })
        .collect()
}

/// Whether the experiment's arrays can be trained in situ: one cell per weight, the layout
/// programming supports. Sliced-weight arrays are inference chips.
pub fn trains_in_situ(cfg: &ExperimentConfig) -> bool {
    cfg.array
        .as_ref()
        .is_some_and(|a| a.cell_bits == a.weight_bits)
}

/// The chip report of an experiment (with the training phases when it trains in situ);
/// `activity` from a run, or `None` for typical activity.
pub fn report(
    cfg: &ExperimentConfig,
    activity: Option<&[LayerActivity]>,
) -> anyhow::Result<ChipReport> {
    let layers = layer_shapes(cfg)?;
    let chip = cfg.chip.clone().unwrap_or_default();
    let array: ArrayConfig = cfg.array.clone().unwrap_or_default();
    let device = cfg.device.clone().unwrap_or_default();
    let (_, classes) = data_shape(cfg);
    let training = TrainingWorkload {
        batch: cfg.train.batch_size as usize,
        samples_per_epoch: samples_per_epoch(cfg),
        rule: match cfg.train.rule {
            Rule::Bp => super::Rule::Bp,
            Rule::Dfa => super::Rule::Dfa,
        },
        classes,
        dfa_scope: cfg.train.dfa_scope,
    };
    let activity = activity.filter(|a| a.len() == layers.len());
    let chip_cfg: &ChipConfig = &chip;
    Ok(estimate(&EstimateRequest {
        chip: chip_cfg,
        array: &array,
        device: &device,
        layers: &layers,
        activity,
        training: trains_in_situ(cfg).then_some(training),
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_images_are_not_trained_on() {
        let cfg = |sets: &[&str]| {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            crate::config::parse(include_str!("../../configs/xbar_mlp_bp.toml"), "t", &sets)
                .unwrap()
        };
        assert_eq!(samples_per_epoch(&cfg(&[])), 4000);
        assert_eq!(samples_per_epoch(&cfg(&["data.val_split=1000"])), 3000);
        let limited = cfg(&["data.train_limit=2000", "data.val_split=500"]);
        assert_eq!(samples_per_epoch(&limited), 1500);
    }
}
