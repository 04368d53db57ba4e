//! Technology tables: CMOS nodes, memory cells and DRAM, embedded from `configs/tech/` and
//! optionally extended by a user file (`[chip] tech_file`). Values in the files use engineering
//! units (fJ, um^2, ps); the accessors here return SI units.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::config::ChipConfig;
use super::error::ChipError;
use crate::config::DeviceConfig;

const NODES: &str = include_str!("../../configs/tech/nodes.toml");
const MEMORY: &str = include_str!("../../configs/tech/memory.toml");

/// Gate capacitance per um of transistor width, fringe included (ITRS PIDS C_g,total ~1 fF/um).
pub const GATE_CAP_F_PER_M: f64 = 1e-15 / 1e-6;

/// One CMOS node (see `configs/tech/nodes.toml` for every column's source).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub f_nm: u32,
    pub vdd: f64,
    pub fo4_ps: f64,
    pub gate_energy_fj: f64,
    pub gate_area_um2: f64,
    pub gate_leak_pw: f64,
    pub sram_bit_area_um2: f64,
    pub sram_bit_energy_fj: f64,
    pub sram_bit_leak_pw: f64,
    pub wire_cap_ff_per_um: f64,
    pub wire_res_ohm_per_um: f64,
    pub wire_pitch_nm: f64,
    pub wire_energy_fj_per_bit_mm: f64,
    pub adc_fom_fj: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    Resistive,
    Capacitive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    Resistive,
    Capacitive,
    Sram,
}

/// One memory cell technology.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub height_f: Option<f64>,
    pub width_f: Option<f64>,
    pub sram_area_vs_6t: Option<f64>,
    pub access: String,
    pub access_width_f: f64,
    pub read: ReadMode,
    pub write: WriteMode,
    pub ferro_cap_ff_per_um2: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DramSpec {
    pub energy_pj_per_bit: f64,
    pub bandwidth_gb_per_s: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TechFile {
    #[serde(default)]
    node: Vec<Node>,
    #[serde(default)]
    memory: BTreeMap<String, Cell>,
    #[serde(default)]
    dram: BTreeMap<String, DramSpec>,
}

fn parse_file(text: &str, file: &str) -> Result<TechFile, ChipError> {
    toml::from_str(text).map_err(|e| ChipError::Tech {
        file: file.into(),
        message: e.to_string(),
    })
}

/// The resolved technology of one chip: node, memory cell and DRAM.
#[derive(Debug, Clone)]
pub struct Tech {
    pub node: Node,
    pub memory: String,
    pub cell: Cell,
    pub dram: DramSpec,
    /// Nodes available, for error messages and scaling studies.
    pub nodes_available: Vec<u32>,
}

impl Tech {
    /// Builds the technology for `chip` and `device` from the embedded tables plus `tech_file`.
    pub fn resolve(chip: &ChipConfig, device: &DeviceConfig) -> Result<Tech, ChipError> {
        let mut tables = parse_file(NODES, "configs/tech/nodes.toml")?;
        let mem = parse_file(MEMORY, "configs/tech/memory.toml")?;
        tables.memory = mem.memory;
        tables.dram = mem.dram;
        let mut source = "the embedded tables".to_string();
        if let Some(path) = &chip.tech_file {
            let text = std::fs::read_to_string(path).map_err(|e| ChipError::Io {
                file: path.clone(),
                message: e.to_string(),
            })?;
            let user = parse_file(&text, path)?;
            for n in user.node {
                tables.node.retain(|m| m.f_nm != n.f_nm);
                tables.node.push(n);
            }
            tables.memory.extend(user.memory);
            tables.dram.extend(user.dram);
            source = format!("the embedded tables and {path}");
        }
        let mut nodes_available: Vec<u32> = tables.node.iter().map(|n| n.f_nm).collect();
        nodes_available.sort_unstable();
        let node = tables
            .node
            .iter()
            .find(|n| n.f_nm == chip.node_nm)
            .cloned()
            .ok_or_else(|| {
                ChipError::Config(crate::config::ConfigError::Invalid {
                    field: "chip.node_nm".into(),
                    value: chip.node_nm.to_string(),
                    allowed: format!("a node of {source}: {nodes_available:?}"),
                })
            })?;
        let memory = chip.memory_name(device).to_string();
        let cell = tables.memory.get(&memory).cloned().ok_or_else(|| {
            ChipError::Config(crate::config::ConfigError::Invalid {
                field: "chip.memory".into(),
                value: memory.clone(),
                allowed: format!(
                    "a memory of {source}: {:?}",
                    tables.memory.keys().collect::<Vec<_>>()
                ),
            })
        })?;
        let dram = tables
            .dram
            .get(chip.dram.name())
            .cloned()
            .ok_or_else(|| ChipError::Tech {
                file: source.clone(),
                message: format!("no [dram.{}] entry", chip.dram.name()),
            })?;
        let tech = Tech {
            node,
            memory,
            cell,
            dram,
            nodes_available,
        };
        tech.check(&source)?;
        Ok(tech)
    }

    fn check(&self, source: &str) -> Result<(), ChipError> {
        let n = &self.node;
        let positive = [
            ("vdd", n.vdd),
            ("fo4_ps", n.fo4_ps),
            ("gate_energy_fj", n.gate_energy_fj),
            ("gate_area_um2", n.gate_area_um2),
            ("gate_leak_pw", n.gate_leak_pw),
            ("sram_bit_area_um2", n.sram_bit_area_um2),
            ("sram_bit_energy_fj", n.sram_bit_energy_fj),
            ("sram_bit_leak_pw", n.sram_bit_leak_pw),
            ("wire_cap_ff_per_um", n.wire_cap_ff_per_um),
            ("wire_res_ohm_per_um", n.wire_res_ohm_per_um),
            ("wire_pitch_nm", n.wire_pitch_nm),
            ("wire_energy_fj_per_bit_mm", n.wire_energy_fj_per_bit_mm),
            ("adc_fom_fj", n.adc_fom_fj),
            ("memory access_width_f", self.cell.access_width_f),
            ("dram energy_pj_per_bit", self.dram.energy_pj_per_bit),
            ("dram bandwidth_gb_per_s", self.dram.bandwidth_gb_per_s),
        ];
        for (name, v) in positive {
            if !(v > 0.0 && v.is_finite()) {
                return Err(ChipError::Tech {
                    file: source.into(),
                    message: format!(
                        "node {} nm / memory {}: {name} = {v}, must be > 0",
                        n.f_nm, self.memory
                    ),
                });
            }
        }
        let geometric = matches!((self.cell.height_f, self.cell.width_f), (Some(h), Some(w)) if h > 0.0 && w > 0.0);
        let sram = matches!(self.cell.sram_area_vs_6t, Some(k) if k > 0.0);
        if geometric == sram {
            return Err(ChipError::Tech {
                file: source.into(),
                message: format!(
                    "memory {}: give either height_f and width_f, or sram_area_vs_6t",
                    self.memory
                ),
            });
        }
        if self.cell.write == WriteMode::Capacitive
            && !matches!(self.cell.ferro_cap_ff_per_um2, Some(c) if c > 0.0)
        {
            return Err(ChipError::Tech {
                file: source.into(),
                message: format!(
                    "memory {}: capacitive write needs ferro_cap_ff_per_um2 > 0",
                    self.memory
                ),
            });
        }
        Ok(())
    }

    /// Feature size in metres.
    pub fn f(&self) -> f64 {
        self.node.f_nm as f64 * 1e-9
    }
    pub fn vdd(&self) -> f64 {
        self.node.vdd
    }
    /// FO4 delay in seconds.
    pub fn fo4(&self) -> f64 {
        self.node.fo4_ps * 1e-12
    }
    /// Energy of one NAND2-equivalent switching, J.
    pub fn gate_energy(&self) -> f64 {
        self.node.gate_energy_fj * 1e-15
    }
    /// A full adder switches about 4 NAND2 equivalents (Horowitz 2014: 3.1 fJ/bit at 45 nm).
    pub fn full_adder_energy(&self) -> f64 {
        4.0 * self.gate_energy()
    }
    /// A flip-flop bit clocked once: ~2 NAND2 equivalents of switching (clock + data).
    pub fn flop_energy(&self) -> f64 {
        2.0 * self.gate_energy()
    }
    /// NAND2-equivalent area, m^2.
    pub fn gate_area(&self) -> f64 {
        self.node.gate_area_um2 * 1e-12
    }
    /// Leakage power of one NAND2 equivalent, W.
    pub fn gate_leak(&self) -> f64 {
        self.node.gate_leak_pw * 1e-12
    }
    pub fn sram_bit_area(&self) -> f64 {
        self.node.sram_bit_area_um2 * 1e-12
    }
    pub fn sram_bit_energy(&self) -> f64 {
        self.node.sram_bit_energy_fj * 1e-15
    }
    pub fn sram_bit_leak(&self) -> f64 {
        self.node.sram_bit_leak_pw * 1e-12
    }
    /// Wire capacitance, F/m.
    pub fn wire_cap(&self) -> f64 {
        self.node.wire_cap_ff_per_um * 1e-15 / 1e-6
    }
    /// Wire resistance, ohm/m.
    pub fn wire_res(&self) -> f64 {
        self.node.wire_res_ohm_per_um / 1e-6
    }
    /// Intermediate metal pitch, m.
    pub fn wire_pitch(&self) -> f64 {
        self.node.wire_pitch_nm * 1e-9
    }
    /// Energy of moving one bit one metre on a repeated on-chip link, J/(bit m).
    pub fn wire_energy_per_bit_m(&self) -> f64 {
        self.node.wire_energy_fj_per_bit_mm * 1e-15 / 1e-3
    }
    /// Walden figure of merit of the node's ADCs, J per conversion step.
    pub fn adc_fom(&self) -> f64 {
        self.node.adc_fom_fj * 1e-15
    }

    /// Cell footprint, m^2.
    pub fn cell_area(&self) -> f64 {
        match (
            self.cell.height_f,
            self.cell.width_f,
            self.cell.sram_area_vs_6t,
        ) {
            (Some(h), Some(w), _) => h * w * self.f() * self.f(),
            (_, _, Some(k)) => k * self.sram_bit_area(),
            _ => unreachable!("checked in resolve"),
        }
    }
    /// Cell pitch along a wordline (the cell's width) and along a bitline (its height), m.
    pub fn cell_pitch(&self) -> (f64, f64) {
        match (self.cell.height_f, self.cell.width_f) {
            (Some(h), Some(w)) => (w * self.f(), h * self.f()),
            _ => {
                // SRAM cells are about twice as wide as high.
                let a = self.cell_area();
                ((2.0 * a).sqrt(), (a / 2.0).sqrt())
            }
        }
    }
    /// Gate capacitance of the access (or read-port) device, F.
    pub fn access_gate_cap(&self) -> f64 {
        self.cell.access_width_f * self.f() * GATE_CAP_F_PER_M
    }
    /// Load one cell adds to a wordline (gate + wire over its width), F.
    pub fn wl_cap_per_cell(&self) -> f64 {
        self.access_gate_cap() + self.cell_pitch().0 * self.wire_cap()
    }
    /// Load one cell adds to a bitline (drain junction ~half the gate cap + wire over its height), F.
    pub fn bl_cap_per_cell(&self) -> f64 {
        0.5 * self.access_gate_cap() + self.cell_pitch().1 * self.wire_cap()
    }
    /// Ferroelectric gate capacitance of one FeFET cell (gate W = access width, L = F), F.
    pub fn ferro_cap(&self) -> f64 {
        let area_um2 = self.cell.access_width_f * self.f() * self.f() * 1e12;
        self.cell.ferro_cap_ff_per_um2.unwrap_or(0.0) * area_um2 * 1e-15
    }
    /// DRAM energy per bit, J.
    pub fn dram_energy_per_bit(&self) -> f64 {
        self.dram.energy_pj_per_bit * 1e-12
    }
    /// DRAM bandwidth, bit/s.
    pub fn dram_bandwidth(&self) -> f64 {
        self.dram.bandwidth_gb_per_s * 8e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_node_and_memory_resolves() {
        let device = DeviceConfig::default();
        for nm in [130, 90, 65, 45, 32, 22, 14, 10, 7, 5] {
            for mem in ["rram", "fefet", "pcm", "sram"] {
                let chip = ChipConfig {
                    node_nm: nm,
                    memory: Some(mem.into()),
                    ..Default::default()
                };
                let t = Tech::resolve(&chip, &device).unwrap();
                assert!(t.cell_area() > 0.0 && t.wl_cap_per_cell() > 0.0);
            }
        }
        let chip = ChipConfig {
            node_nm: 28,
            ..Default::default()
        };
        let e = Tech::resolve(&chip, &device).unwrap_err().to_string();
        assert!(e.contains("chip.node_nm") && e.contains("22"), "{e}");
    }
}
