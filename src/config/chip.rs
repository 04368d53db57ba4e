//! The `[chip]` section of the experiment config: the floorplan and circuit choices of the chip.

use serde::{Deserialize, Serialize};

use super::chip_training::TrainingChipConfig;
use crate::config::{check, ConfigError, DeviceConfig};

/// Analog-to-digital converter at the bottom of each column group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdcType {
    /// Successive approximation: one comparator, `bits` decisions per conversion.
    Sar,
    /// Multi-level sense amplifier (flash-like): 2^bits - 1 references fired at once.
    Mlsa,
}

/// Network that carries activations between tiles and the global buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interconnect {
    Htree,
    Bus,
}

/// How the chip around the arrays is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorplanMode {
    /// Identical tiles of `pes_per_tile` x `subarrays_per_pe` subarrays; buffers of the sizes
    /// configured; every layer reads its same-padded output positions.
    Fixed,
    /// Sized from the network as DNN+NeuroSim does: global buffer holding the largest layer
    /// input (half of all inputs when pipelined), tile and PE buffers as register files holding
    /// one input vector and one output vector, conv layers reading their valid positions, and
    /// pipelined speed-up copies by NeuroSim's IFM-size rule.
    Neurosim,
}

/// Which DNN+NeuroSim estimator the `neurosim` floorplan follows for latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeurosimVersion {
    /// V1.4 (inference): a synchronous chip whose every transfer, adder pass and sensing step
    /// takes whole cycles of one clock set by the sensing path.
    #[serde(rename = "1.4")]
    V1_4,
    /// V2.1 (training): asynchronous; each block's own delay.
    #[serde(rename = "2.1")]
    V2_1,
}

/// Off-chip memory used by training (activations, errors and weight gradients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dram {
    Hbm2,
    Gddr6,
}

impl Dram {
    pub fn name(self) -> &'static str {
        match self {
            Dram::Hbm2 => "hbm2",
            Dram::Gddr6 => "gddr6",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChipConfig {
    /// CMOS node in nm; one of the nodes of the technology table.
    pub node_nm: u32,
    /// Memory cell technology (rram, fefet, pcm, sram); defaults to `device.technology`.
    pub memory: Option<String>,
    /// A TOML file in the form of `configs/tech/*.toml` whose entries add to or replace the
    /// embedded tables.
    pub tech_file: Option<String>,
    /// `fixed` (configured tiles and buffers) or `neurosim` (sized from the network).
    pub floorplan: FloorplanMode,
    /// `neurosim` floorplan: map large conv layers one PE per kernel tap (NeuroSim's novel
    /// mapping); otherwise every layer is unrolled onto conventional tiles.
    pub novel_mapping: bool,
    /// `neurosim` floorplan: the estimator version whose latency model is followed.
    pub neurosim_version: NeurosimVersion,
    /// Subarrays per processing element, laid out as a square grid (1, 4, 9, 16, ...).
    pub subarrays_per_pe: u32,
    /// Processing elements per tile, laid out as a square grid (1, 4, 9, 16, ...).
    pub pes_per_tile: u32,
    /// Largest number of copies of a layer's weights (1 = no replication).
    pub replication: u32,
    /// Speed-up mode: give layers with many output positions more copies (up to `replication`)
    /// so that layers take similar time; otherwise every layer gets `replication` copies.
    pub speedup: bool,
    /// Layers work on different images at once (throughput = 1 / slowest layer).
    pub pipelined: bool,
    pub adc_type: AdcType,
    pub interconnect: Interconnect,
    pub dram: Dram,
    /// Buffer per tile in KiB (inputs of the tile's rows, partial sums).
    pub buffer_kb: f64,
    /// Buffer per processing element in KiB (the input window and outputs of its subarrays).
    pub pe_buffer_kb: f64,
    /// Global buffer in KiB (activations between layers).
    pub global_buffer_kb: f64,
    /// Width in bits of the global interconnect and of each buffer port.
    pub bus_bits: u32,
    /// Clock of the digital periphery in Hz.
    pub clock_hz: f64,
    /// Optional NetWork.csv describing the layers instead of `network.arch`.
    pub netlist: Option<String>,
    /// Multiply-accumulate units of the digital weight-gradient unit (training).
    pub wg_macs: u32,
    /// Bits of an accumulated weight gradient.
    pub gradient_bits: u32,
    /// Gradient buffer of the weight-gradient unit in KiB; layers whose gradients do not fit
    /// accumulate them in DRAM (read-modify-write per image).
    pub wg_buffer_kb: f64,
    /// The training chip's architecture (`[chip.training]`).
    pub training: TrainingChipConfig,
}

impl Default for ChipConfig {
    fn default() -> Self {
        Self {
            node_nm: 22,
            memory: None,
            tech_file: None,
            floorplan: FloorplanMode::Fixed,
            novel_mapping: true,
            neurosim_version: NeurosimVersion::V1_4,
            subarrays_per_pe: 4,
            pes_per_tile: 4,
            replication: 1,
            speedup: false,
            pipelined: false,
            adc_type: AdcType::Mlsa,
            interconnect: Interconnect::Htree,
            dram: Dram::Hbm2,
            buffer_kb: 32.0,
            pe_buffer_kb: 4.0,
            global_buffer_kb: 512.0,
            bus_bits: 512,
            clock_hz: 1e9,
            netlist: None,
            wg_macs: 256,
            gradient_bits: 16,
            wg_buffer_kb: 256.0,
            training: TrainingChipConfig::default(),
        }
    }
}

fn is_square(n: u32) -> bool {
    let r = (n as f64).sqrt().round() as u32;
    r * r == n
}

impl ChipConfig {
    /// The memory technology in use: `memory`, else the device's.
    pub fn memory_name<'a>(&'a self, device: &'a DeviceConfig) -> &'a str {
        self.memory.as_deref().unwrap_or(&device.technology)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            "chip.node_nm",
            self.node_nm,
            (1..=1000).contains(&self.node_nm),
            "a node of the technology table, e.g. 130, 90, 65, 45, 32, 22, 14, 10, 7, 5",
        )?;
        if let Some(m) = &self.memory {
            check(
                "chip.memory",
                m,
                ["rram", "fefet", "pcm", "sram"].contains(&m.as_str()) || self.tech_file.is_some(),
                "one of rram, fefet, pcm, sram (or a cell of chip.tech_file)",
            )?;
        }
        check(
            "chip.subarrays_per_pe",
            self.subarrays_per_pe,
            self.subarrays_per_pe >= 1
                && self.subarrays_per_pe <= 1024
                && is_square(self.subarrays_per_pe),
            "a perfect square in 1..=1024 (1, 4, 9, 16, ...)",
        )?;
        check(
            "chip.pes_per_tile",
            self.pes_per_tile,
            self.pes_per_tile >= 1 && self.pes_per_tile <= 1024 && is_square(self.pes_per_tile),
            "a perfect square in 1..=1024 (1, 4, 9, 16, ...)",
        )?;
        check(
            "chip.replication",
            self.replication,
            (1..=4096).contains(&self.replication),
            "1..=4096",
        )?;
        for (name, v) in [
            ("chip.buffer_kb", self.buffer_kb),
            ("chip.pe_buffer_kb", self.pe_buffer_kb),
            ("chip.global_buffer_kb", self.global_buffer_kb),
            ("chip.wg_buffer_kb", self.wg_buffer_kb),
        ] {
            check(name, v, v > 0.0 && v <= 1e6, "(0, 1e6] KiB")?;
        }
        check(
            "chip.bus_bits",
            self.bus_bits,
            (1..=65536).contains(&self.bus_bits),
            "1..=65536",
        )?;
        check(
            "chip.clock_hz",
            self.clock_hz,
            self.clock_hz >= 1e6 && self.clock_hz <= 1e11,
            "1e6..=1e11 Hz",
        )?;
        check(
            "chip.wg_macs",
            self.wg_macs,
            (1..=1 << 20).contains(&self.wg_macs),
            "1..=1048576",
        )?;
        check(
            "chip.gradient_bits",
            self.gradient_bits,
            (1..=64).contains(&self.gradient_bits),
            "1..=64",
        )?;
        self.training.validate()?;
        Ok(())
    }
}
