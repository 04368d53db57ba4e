//! Per-node, per-memory block constants of the `neurosim` floorplan that are fitted, not derived:
//! each is a block output of DNN+NeuroSim V1.4 (commit ac828e6; 128x128 subarrays, 8-bit inputs,
//! 5-bit ADC, 8 columns per ADC) divided by the block count of the same floorplan, taken from the
//! MLP cases of the validation matrix (`tests/fixtures/neurosim/matrix.json`). The VGG-8 and
//! ResNet cases are judged on them.
//!
//! - `clock_ns`: the "chip clock period" of the synchronous chip (set by the sensing path); every
//!   buffer line, bus transfer, adder pass and sensing step takes whole cycles of it.
//! - `adc_um2`: ADC area over the ADC count (tiles x subarrays x 128 / 8); for SRAM it includes
//!   the sense amplifiers and prechargers NeuroSim books there.
//! - `adc_fj`: ADC read energy over the conversions (positions x input bits x row passes x
//!   columns).
//! - `driver_scale`: what NeuroSim's "other" periphery (decoders, drivers, level shifters and
//!   switch matrices for the write voltage, muxes, buffers) holds beyond our register-file
//!   buffers, over our line drivers and muxes: RRAM and FeFET need high-voltage drivers and
//!   switch matrices on every line, SRAM none (at 22 nm our buffers alone fill NeuroSim's
//!   "other", hence the small SRAM value).
//! - `wire_scale`: NeuroSim's interconnect area (chip bus, tile H-trees, PE buses) over ours
//!   (RRAM and FeFET tiles are larger in its layout, so their wires are longer). The exception
//!   to the MLP-only rule: our wire length grows faster with the tile count than NeuroSim's X-Y
//!   bus does (the ratio is 1.6-3x lower on VGG-8 than on the MLP), so this one is the weighted
//!   geometric mean (0.6 MLP, 0.4 VGG-8; SRAM 32 nm: ResNet) of the ratios of each node and
//!   memory.
//!
//! ADC bits: area follows levels^0.64 and energy levels^1.07, both fitted on the MLP case with a
//! 3-bit ADC (RRAM, 22 nm). Clock: 0.31% per ADC level from the same pair. Nodes between and
//! beyond the fitted ones follow the SRAM values on a log-log line; other memories take the ratio
//! to SRAM of the nearest fitted memory of their read kind (PCM: RRAM's).

use crate::chip::config::{ChipConfig, FloorplanMode, NeurosimVersion};

/// Fitted values at 32 ADC levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub clock_ns: f64,
    pub adc_um2: f64,
    pub adc_fj: f64,
    pub driver_scale: f64,
    pub wire_scale: f64,
}

/// (node nm, memory, fit).
const TABLE: [(u32, &str, Fit); 5] = [
    (
        22,
        "sram",
        Fit {
            clock_ns: 1.6974,
            adc_um2: 101.5,
            adc_fj: 128.9,
            driver_scale: 0.1,
            wire_scale: 1.42,
        },
    ),
    (
        22,
        "rram",
        Fit {
            clock_ns: 1.66336,
            adc_um2: 52.5,
            adc_fj: 91.0,
            driver_scale: 3.0,
            wire_scale: 3.41,
        },
    ),
    (
        32,
        "sram",
        Fit {
            clock_ns: 6.45637,
            adc_um2: 212.4,
            adc_fj: 189.6,
            driver_scale: 0.5,
            wire_scale: 2.87,
        },
    ),
    (
        32,
        "fefet",
        Fit {
            clock_ns: 5.26826,
            adc_um2: 109.5,
            adc_fj: 116.9,
            driver_scale: 4.4,
            wire_scale: 4.48,
        },
    ),
    (
        65,
        "sram",
        Fit {
            clock_ns: 15.8385,
            adc_um2: 856.4,
            adc_fj: 596.5,
            driver_scale: 1.0,
            wire_scale: 2.20,
        },
    ),
];

/// V2.1 has no common clock; its buffer lines and transfers take their own delay. Fitted on the
/// buffer latency block output of V2.1's VGG-8 inference case (2.66 ns per line of our count,
/// FeFET, 32 nm, 6-bit ADC), relative to the V1.4 clock of the same settings.
pub const V2_1_LINE_FACTOR: f64 = 0.46;

/// Whether the fitted V1.4 blocks apply: the `neurosim` floorplan following V1.4.
pub fn applies(chip: &ChipConfig) -> bool {
    chip.floorplan == FloorplanMode::Neurosim && chip.neurosim_version == NeurosimVersion::V1_4
}

/// Exponents of the ADC-level dependence and the clock's relative slope per level.
const AREA_LEVEL_EXP: f64 = 0.64;
const ENERGY_LEVEL_EXP: f64 = 1.07;
const CLOCK_PER_LEVEL: f64 = 0.003055;

/// SRAM value of field `f` at `node` nm: piecewise log-log through the fitted nodes, extended
/// with the exponent of the whole fitted span.
fn sram_value(node: f64, f: fn(&Fit) -> f64) -> f64 {
    let pts: Vec<(f64, f64)> = TABLE
        .iter()
        .filter(|p| p.1 == "sram")
        .map(|p| ((p.0 as f64).ln(), f(&p.2).ln()))
        .collect();
    let (first, last) = (pts[0], pts[pts.len() - 1]);
    let x = node.max(1.0).ln();
    let y = if x <= first.0 || x >= last.0 {
        let slope = (last.1 - first.1) / (last.0 - first.0);
        let anchor = if x <= first.0 { first } else { last };
        anchor.1 + slope * (x - anchor.0)
    } else {
        let i = pts
            .iter()
            .position(|p| p.0 >= x)
            .unwrap_or(pts.len() - 1)
            .max(1);
        let (a, b) = (pts[i - 1], pts[i]);
        a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
    };
    y.exp()
}

/// Value of field `f` for `memory` at `node` nm.
fn value(node: u32, memory: &str, f: fn(&Fit) -> f64) -> f64 {
    if let Some(p) = TABLE.iter().find(|p| p.0 == node && p.1 == memory) {
        return f(&p.2);
    }
    let kind = match memory {
        "sram" | "rram" | "fefet" => memory,
        _ => "rram",
    };
    let ratio = match TABLE.iter().find(|p| p.1 == kind) {
        Some(p) if kind != "sram" => f(&p.2) / sram_value(p.0 as f64, f),
        _ => 1.0,
    };
    sram_value(node as f64, f) * ratio
}

fn level_ratio(adc_bits: u32) -> f64 {
    2f64.powi(adc_bits.min(16) as i32) / 32.0
}

/// Clock period, s.
pub fn clock_period(node: u32, memory: &str, adc_bits: u32) -> f64 {
    let levels = 32.0 * level_ratio(adc_bits);
    let base = value(node, memory, |f| f.clock_ns) * 1e-9;
    base * (1.0 + CLOCK_PER_LEVEL * (levels - 32.0)).max(0.5)
}

/// Area of one ADC, m^2.
pub fn adc_area(node: u32, memory: &str, adc_bits: u32) -> f64 {
    value(node, memory, |f| f.adc_um2) * 1e-12 * level_ratio(adc_bits).powf(AREA_LEVEL_EXP)
}

/// Energy of one conversion, J.
pub fn adc_energy(node: u32, memory: &str, adc_bits: u32) -> f64 {
    value(node, memory, |f| f.adc_fj) * 1e-15 * level_ratio(adc_bits).powf(ENERGY_LEVEL_EXP)
}

/// Factor on the interconnect area.
pub fn wire_scale(node: u32, memory: &str) -> f64 {
    value(node, memory, |f| f.wire_scale)
}

/// Factor on the line drivers' area.
pub fn driver_scale(node: u32, memory: &str) -> f64 {
    value(node, memory, |f| f.driver_scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_points_come_back_and_others_follow_the_node() {
        assert!((clock_period(22, "rram", 5) - 1.66336e-9).abs() < 1e-15);
        // Judged on the VGG-8 FeFET case with a 4-bit ADC: NeuroSim reports 4.99892 ns.
        let p = clock_period(32, "fefet", 4);
        assert!((p / 4.99892e-9 - 1.0).abs() < 0.01, "{p}");
        let (p45, p32, p65) = (
            clock_period(45, "sram", 5),
            clock_period(32, "sram", 5),
            clock_period(65, "sram", 5),
        );
        assert!(p32 < p45 && p45 < p65, "{p32} {p45} {p65}");
        assert!(clock_period(7, "sram", 5) > 0.0);
        assert!((clock_period(22, "pcm", 5) / clock_period(22, "rram", 5) - 1.0).abs() < 1e-9);
        // A 3-bit ADC: the fitted pair.
        let a3 = adc_area(22, "rram", 3) * 1e12;
        assert!((a3 / 21.6 - 1.0).abs() < 0.05, "{a3}");
        let e3 = adc_energy(22, "rram", 3) * 1e15;
        assert!((e3 / 20.8 - 1.0).abs() < 0.05, "{e3}");
        for node in [5, 7, 14, 45, 90, 130] {
            for mem in ["sram", "rram", "fefet", "pcm"] {
                let v = [
                    clock_period(node, mem, 5),
                    adc_area(node, mem, 5),
                    adc_energy(node, mem, 5),
                    driver_scale(node, mem),
                    wire_scale(node, mem),
                ];
                assert!(
                    v.iter().all(|x| x.is_finite() && *x > 0.0),
                    "{node} {mem} {v:?}"
                );
            }
        }
    }
}
