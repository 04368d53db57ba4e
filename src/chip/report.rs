//! The cost report: stable keys for JSON, and a terminal table.

use std::fmt::Write;

use serde::Serialize;

use super::schedule::Rule;
use super::tally::EnergyParts;
use super::training_chip::TrainingChipReport;
use super::training_config::TrainingChipConfig;
use crate::config::DfaScope;

/// Area in mm^2 by block category: the categories sum to the chip's total.
#[derive(Debug, Clone, Serialize)]
pub struct AreaBreakdown {
    pub arrays: f64,
    pub adc: f64,
    pub shift_add_accumulation: f64,
    pub buffers: f64,
    pub interconnect: f64,
    /// Drivers, decoders, column mux, activation and pooling units.
    pub other: f64,
}

impl AreaBreakdown {
    /// The sum of the categories (the chip's total area).
    pub fn sum(&self) -> f64 {
        self.arrays
            + self.adc
            + self.shift_add_accumulation
            + self.buffers
            + self.interconnect
            + self.other
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Area {
    pub total: f64,
    pub breakdown: AreaBreakdown,
    pub tiles: usize,
    pub subarrays: usize,
}

/// One weight layer in inference.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    pub name: String,
    pub latency_s: f64,
    pub energy_j: f64,
    /// Subarrays holding data (all copies).
    pub subarrays: usize,
    /// Subarrays of the tiles the layer owns.
    pub subarrays_allocated: usize,
    pub tiles: usize,
    pub replication: usize,
    /// Cells holding data or references / cells of the allocated subarrays.
    pub utilisation: f64,
    pub adc_conversions: f64,
    /// Clipped / all conversions (0 when not measured).
    pub clipped_fraction: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inference {
    /// Latency of one image, s.
    pub latency_s: f64,
    /// Energy of one image (dynamic + leakage), J.
    pub energy_j: f64,
    pub dynamic_energy_j: f64,
    pub leakage_energy_j: f64,
    /// Energy of one image by category, J.
    pub energy_breakdown: EnergyParts,
    pub ops_per_image: f64,
    pub tops: f64,
    pub tops_per_w: f64,
    pub tops_per_mm2: f64,
    pub images_per_s: f64,
    pub pipelined: bool,
    pub layers: Vec<LayerReport>,
}

/// Latency and energy of one phase of training.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub latency_s_per_step: f64,
    pub energy_j_per_step: f64,
    pub latency_s_per_epoch: f64,
    pub energy_j_per_epoch: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Training {
    pub rule: Rule,
    pub batch: usize,
    pub steps_per_epoch: usize,
    pub forward: Phase,
    /// The error (activation-gradient) phase.
    pub error: Phase,
    pub weight_gradient: Phase,
    pub weight_update: Phase,
    pub dram_energy_j_per_epoch: f64,
    /// DRAM energy / all training energy of an epoch.
    pub dram_share: f64,
    pub dram_bits_per_step: f64,
    /// Sum of the phases (no overlap), s.
    pub serial_latency_s_per_epoch: f64,
    /// Critical path of the step graph for the chosen rule, times steps, s.
    pub scheduled_latency_s_per_epoch: f64,
    pub energy_j_per_epoch: f64,
    pub ops_per_epoch: f64,
    pub tops_per_w: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    /// The training-step architecture both rules are scheduled on (`[chip.training]`).
    pub architecture: TrainingChipConfig,
    pub bp_step_latency_s: f64,
    pub dfa_step_latency_s: f64,
    /// dfa / bp step latency.
    pub ratio: f64,
    /// bp / dfa step latency.
    pub speedup: f64,
    pub bp_backward_latency_s: f64,
    pub dfa_backward_latency_s: f64,
    /// dfa / bp backward (error phase) latency of one image.
    pub backward_ratio: f64,
    pub backward_speedup: f64,
    /// Area of the training chip each rule needs (BP: transposed-read periphery; DFA: feedback
    /// arrays), mm^2.
    pub bp_chip_area_mm2: f64,
    pub dfa_chip_area_mm2: f64,
    /// The layers DFA's figures give feedback arrays (`train.dfa_scope`); omitted when `all`.
    #[serde(skip_serializing_if = "is_all")]
    pub dfa_scope: DfaScope,
}

fn is_all(scope: &DfaScope) -> bool {
    *scope == DfaScope::All
}

#[derive(Debug, Clone, Serialize)]
pub struct ChipReport {
    /// The inference chip: never any training hardware.
    pub area_mm2: Area,
    /// The training chip of the configured rule (training requests only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_chip: Option<TrainingChipReport>,
    pub inference: Inference,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<Training>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// "measured" or "typical".
    pub activity: String,
    pub node_nm: u32,
    pub memory: String,
}

fn eng(v: f64, unit: &str) -> String {
    let (k, p) = [
        (1e-15, "f"),
        (1e-12, "p"),
        (1e-9, "n"),
        (1e-6, "u"),
        (1e-3, "m"),
        (1.0, ""),
        (1e3, "k"),
        (1e6, "M"),
        (1e9, "G"),
        (1e12, "T"),
    ]
    .iter()
    .rev()
    .find(|(k, _)| v.abs() >= *k)
    .copied()
    .unwrap_or((1.0, ""));
    format!("{:.3} {p}{unit}", v / k)
}

/// A human-readable summary for the terminal.
pub fn print_table(r: &ChipReport) -> String {
    let mut s = String::new();
    let a = &r.area_mm2;
    let b = &a.breakdown;
    let _ = writeln!(
        s,
        "chip: {} nm, {} cells, activity {}",
        r.node_nm, r.memory, r.activity
    );
    let _ = writeln!(
        s,
        "area {:.3} mm^2 ({} tiles, {} subarrays)",
        a.total, a.tiles, a.subarrays
    );
    for (k, v) in [
        ("arrays", b.arrays),
        ("adc", b.adc),
        ("shift-add/accumulation", b.shift_add_accumulation),
        ("buffers", b.buffers),
        ("interconnect", b.interconnect),
        ("other", b.other),
    ] {
        let _ = writeln!(s, "  {k:<24} {v:>10.3} mm^2 {:>6.1}%", 100.0 * v / a.total);
    }
    let i = &r.inference;
    let _ = writeln!(
        s,
        "inference per image: latency {}, energy {} (dynamic {}, leakage {})",
        eng(i.latency_s, "s"),
        eng(i.energy_j, "J"),
        eng(i.dynamic_energy_j, "J"),
        eng(i.leakage_energy_j, "J")
    );
    let _ = writeln!(
        s,
        "  {:.3} TOPS, {:.2} TOPS/W, {:.4} TOPS/mm^2, {:.1} images/s{}",
        i.tops,
        i.tops_per_w,
        i.tops_per_mm2,
        i.images_per_s,
        if i.pipelined { " (pipelined)" } else { "" }
    );
    let _ = writeln!(
        s,
        "  {:<10} {:>12} {:>12} {:>9} {:>6} {:>6} {:>7}",
        "layer", "latency", "energy", "subarrays", "tiles", "copies", "util"
    );
    for l in &i.layers {
        let _ = writeln!(
            s,
            "  {:<10} {:>12} {:>12} {:>9} {:>6} {:>6} {:>6.1}%",
            l.name,
            eng(l.latency_s, "s"),
            eng(l.energy_j, "J"),
            l.subarrays,
            l.tiles,
            l.replication,
            100.0 * l.utilisation
        );
    }
    if let Some(c) = &r.training_chip {
        let a = &c.area_mm2;
        let w = &a.weight_gradient;
        let _ = writeln!(
            s,
            "training chip ({}): {:.3} mm^2 = inference chip {:.3} + transposed read {:.3} \
             + feedback arrays {:.3} + weight gradient {:.3} (units {:.3}, accumulators {:.3}, \
             buffers {:.3}, pulse translators {:.3})",
            c.rule,
            a.total,
            a.inference_chip,
            a.transposed_read.total,
            a.feedback_arrays,
            w.total,
            w.units,
            w.accumulators,
            w.buffers,
            w.pulse_translators
        );
    }
    if let Some(t) = &r.training {
        let _ = writeln!(
            s,
            "training ({}, batch {}, {} steps/epoch), per epoch:",
            t.rule, t.batch, t.steps_per_epoch
        );
        for (k, p) in [
            ("forward", &t.forward),
            ("error", &t.error),
            ("weight gradient", &t.weight_gradient),
            ("weight update", &t.weight_update),
        ] {
            let _ = writeln!(
                s,
                "  {k:<16} {:>12} {:>12}",
                eng(p.latency_s_per_epoch, "s"),
                eng(p.energy_j_per_epoch, "J")
            );
        }
        let _ = writeln!(
            s,
            "  DRAM {} ({:.1}% of {}), {:.2} TOPS/W",
            eng(t.dram_energy_j_per_epoch, "J"),
            100.0 * t.dram_share,
            eng(t.energy_j_per_epoch, "J"),
            t.tops_per_w
        );
        let _ = writeln!(
            s,
            "  epoch latency: {} serial, {} scheduled",
            eng(t.serial_latency_s_per_epoch, "s"),
            eng(t.scheduled_latency_s_per_epoch, "s")
        );
    }
    if let Some(c) = &r.schedule {
        let arch = &c.architecture;
        let dfa = match c.dfa_scope {
            DfaScope::All => "DFA",
            DfaScope::FcHead => "DFA (FC head)",
        };
        let _ = writeln!(
            s,
            "step latency ({:?} {:?} weight gradient, {:?} update{}): BP {}, {dfa} {} \
             (DFA speed-up {:.2}x)",
            arch.wg_placement,
            arch.wg_unit,
            arch.update,
            if arch.pipeline { ", pipelined" } else { "" },
            eng(c.bp_step_latency_s, "s"),
            eng(c.dfa_step_latency_s, "s"),
            c.speedup
        );
        let _ = writeln!(
            s,
            "error phase per image: BP {}, {dfa} {} (DFA speed-up {:.2}x)",
            eng(c.bp_backward_latency_s, "s"),
            eng(c.dfa_backward_latency_s, "s"),
            c.backward_speedup
        );
    }
    s
}
