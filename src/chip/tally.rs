//! Activity-driven energy and latency of crossbar reads and of a layer's data path.

use serde::Serialize;

use super::blocks::{
    activation, adc::Adc, adder_tree, buffer, cell_array, drivers, mux, neurosim_fit, shift_add,
};
use super::config::{ChipConfig, FloorplanMode};
use super::floorplan::Floorplan;
use super::mapping::MatrixMap;
use super::tech::{ReadMode, Tech};
use crate::config::{ArrayConfig, DeviceConfig};
use crate::nn::arch::PoolKind;

/// Toggle rates of input and output bits on NeuroSim's wires (V1.4 `Param.cpp` defaults).
const NEUROSIM_INPUT_TOGGLE: f64 = 0.18;
const NEUROSIM_OUTPUT_TOGGLE: f64 = 0.5;

/// Energy by category, J.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EnergyParts {
    pub arrays: f64,
    pub adc: f64,
    pub shift_add_accumulation: f64,
    pub buffers: f64,
    pub interconnect: f64,
    pub other: f64,
    pub leakage: f64,
}

impl EnergyParts {
    pub fn dynamic(&self) -> f64 {
        self.arrays
            + self.adc
            + self.shift_add_accumulation
            + self.buffers
            + self.interconnect
            + self.other
    }
    pub fn total(&self) -> f64 {
        self.dynamic() + self.leakage
    }
    pub fn scaled(&self, k: f64) -> EnergyParts {
        EnergyParts {
            arrays: self.arrays * k,
            adc: self.adc * k,
            shift_add_accumulation: self.shift_add_accumulation * k,
            buffers: self.buffers * k,
            interconnect: self.interconnect * k,
            other: self.other * k,
            leakage: self.leakage * k,
        }
    }
}

impl std::ops::Add for EnergyParts {
    type Output = EnergyParts;
    fn add(self, o: EnergyParts) -> EnergyParts {
        EnergyParts {
            arrays: self.arrays + o.arrays,
            adc: self.adc + o.adc,
            shift_add_accumulation: self.shift_add_accumulation + o.shift_add_accumulation,
            buffers: self.buffers + o.buffers,
            interconnect: self.interconnect + o.interconnect,
            other: self.other + o.other,
            leakage: self.leakage + o.leakage,
        }
    }
}

impl std::iter::Sum for EnergyParts {
    fn sum<I: Iterator<Item = EnergyParts>>(it: I) -> EnergyParts {
        it.fold(EnergyParts::default(), |a, b| a + b)
    }
}

/// Energy and latency of one piece of work.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    pub energy: EnergyParts,
    pub latency: f64,
    pub conversions: f64,
}

/// Everything the tally needs about the chip.
pub struct Ctx<'a> {
    pub tech: &'a Tech,
    pub array: &'a ArrayConfig,
    pub device: &'a DeviceConfig,
    pub chip: &'a ChipConfig,
    pub plan: &'a Floorplan,
}

/// One kind of crossbar read over a whole matrix, repeated `reads` times per image.
pub struct ReadOp<'a> {
    pub map: &'a MatrixMap,
    /// Inputs on the columns, outputs from the rows (BP's W^T read).
    pub transposed: bool,
    pub reads: f64,
    /// Bits of each input value (activation or error).
    pub in_bits: u32,
    /// Signed inputs take a positive and a negative pass.
    pub signed: bool,
    pub density: f64,
    pub adc_bits: u32,
    /// Distinct input values per image delivered to the matrix's tiles.
    pub in_values: f64,
    /// Output values per image written back (before pooling).
    pub out_values: f64,
    pub out_bits: u32,
    /// Mean conductance level of the stored weights.
    pub level: f64,
    /// Measured conversions per image (replaces the structural count for energy).
    pub conversions_measured: Option<f64>,
    pub pool: Option<PoolKind>,
    /// Apply ReLU/requantisation to the outputs.
    pub activation: bool,
}

impl Ctx<'_> {
    /// Time of one column step: wordline settling, the read pulse, the conversion.
    pub fn step_time(&self, adc: &Adc, line_cells: usize) -> f64 {
        let t = self.tech;
        let (pitch, _) = t.cell_pitch();
        drivers::line_delay(t, line_cells, pitch, t.wl_cap_per_cell())
            + self.device.t_read
            + adc.latency(t)
    }

    pub fn read(&self, op: &ReadOp) -> Cost {
        let (t, a, d, m) = (self.tech, self.array, self.device, op.map);
        let adc = Adc {
            bits: op.adc_bits,
            kind: self.chip.adc_type,
        };
        let (r, c) = (a.rows as usize, a.cols as usize);
        let p = a.parallel_rows as usize;
        let cycles = (op.in_bits.div_ceil(a.dac_bits) * if op.signed { 2 } else { 1 }) as f64;
        let adcs = self.plan.adcs_per_subarray;
        // Per read cycle: conversions, and the longest sequence of column steps in any subarray.
        let (
            conv_per_cycle,
            steps_per_cycle,
            line_cells,
            sensed_len,
            driven_lines,
            line_len,
            logical_out,
            combine,
        ) = if !op.transposed {
            let passes: usize = (0..m.row_blocks)
                .map(|i| m.block_rows(a, i).div_ceil(p))
                .sum();
            let max_pass = m.rows.min(r).div_ceil(p);
            let widest = (m.cols_per_block.min(m.data_cols) + m.ref_cols).min(c);
            let fan_out = m.data_cols / m.slice_groups;
            (
                (passes * m.sensed_cols()) as f64,
                max_pass * widest.div_ceil(adcs),
                c,
                m.rows.min(r),
                // Row activations: every column block has its own copy of each row.
                (m.rows * m.col_blocks) as f64,
                c,
                fan_out as f64,
                (m.row_blocks * m.slice_groups + m.ref_cols).max(1) as f64,
            )
        } else {
            // Each slice group is driven separately (its columns carry different significance).
            let sg = m.slice_groups;
            let passes: usize = (0..m.col_blocks)
                .map(|j| m.block_cols(j).div_ceil(sg).div_ceil(p))
                .sum();
            let max_pass = m.cols_per_block.min(m.data_cols).div_ceil(sg).div_ceil(p);
            let row_adcs = r.div_ceil(a.mux as usize);
            (
                (sg * passes * m.rows) as f64,
                sg * max_pass * m.rows.min(r).div_ceil(row_adcs),
                r,
                (m.cols_per_block + m.ref_cols).min(c),
                (m.data_cols * m.row_blocks) as f64,
                r,
                m.rows as f64,
                (m.col_blocks * m.slice_groups).max(1) as f64,
            )
        };
        let structural = op.reads * cycles * conv_per_cycle;
        let conversions = op
            .conversions_measured
            .filter(|&v| v > 0.0)
            .unwrap_or(structural);
        let active_cells = op.reads * cycles * op.density * (m.rows * m.sensed_cols()) as f64;
        let line_v = match (t.cell.read, op.transposed) {
            (ReadMode::Resistive, true) => d.v_read,
            _ => t.vdd(),
        };
        let line_cap = if op.transposed {
            t.bl_cap_per_cell()
        } else {
            t.wl_cap_per_cell()
        };
        let line_acts = op.reads * cycles * op.density * driven_lines;

        // The `neurosim` floorplan follows NeuroSim's split: a current-mode sense amplifier draws
        // the column current only while it decides, so a cell conducts for the conversion time,
        // not for the whole read pulse.
        let cell_energy = if self.chip.floorplan == FloorplanMode::Neurosim {
            cell_array::cell_conduction_energy(t, d, op.level, adc.latency(t))
        } else {
            cell_array::cell_read_energy(t, d, op.level)
        };
        let w_sa = shift_add::width(op.adc_bits, op.in_bits);
        let acc = self.plan.acc_bits;
        let per_conversion = if neurosim_fit::applies(self.chip) {
            neurosim_fit::adc_energy(t.node.f_nm, &t.memory, op.adc_bits)
        } else {
            adc.energy(t)
        };
        let mut e = EnergyParts {
            arrays: active_cells * cell_energy
                + conversions * cell_array::bitline_energy(t, d, sensed_len),
            adc: conversions * per_conversion,
            ..Default::default()
        };
        e.shift_add_accumulation = conversions * shift_add::energy(t, w_sa)
            + adder_tree::energy(t, op.reads * logical_out * (combine - 1.0), acc);
        e.other = line_acts * drivers::line_energy(t, line_len, line_cap, line_v)
            + conversions * mux::switch_energy(t);

        // Data path: inputs to the tiles (each tile column, or tile row when transposed, needs
        // them), streamed from the tile buffers into the rows, outputs and cross-tile partial sums
        // back to the global buffer.
        let (fan_tiles, sum_tiles) = if op.transposed {
            (m.tile_rows, m.tile_cols)
        } else {
            (m.tile_cols, m.tile_rows)
        };
        let in_bits = op.in_values * op.in_bits as f64 * fan_tiles as f64;
        let stream_lines = if op.transposed {
            m.data_cols / m.slice_groups
        } else {
            m.rows
        };
        let stream_bits = op.reads * stream_lines as f64 * op.in_bits as f64 * fan_tiles as f64;
        let out_bits = op.out_values * op.out_bits as f64;
        let psum_bits = op.reads * logical_out * acc as f64 * (sum_tiles - 1) as f64;
        e.buffers = self
            .plan
            .buffer_energy(t, in_bits + stream_bits + 2.0 * out_bits + 2.0 * psum_bits);
        let net = &self.plan.network;
        // A layer's tiles sit side by side: partial sums hop between neighbours (one tile side),
        // while inputs and outputs travel between the global buffer and the tiles.
        let tile_side = self.plan.tile.total().sqrt();
        // NeuroSim charges wires only for the bits that toggle: 18% of input bits and half of
        // output bits (its `inputtoggle` / `outputtoggle` defaults, from traces of its examples).
        let (toggle_in, toggle_out) = if neurosim_fit::applies(self.chip) {
            (NEUROSIM_INPUT_TOGGLE, NEUROSIM_OUTPUT_TOGGLE)
        } else {
            (1.0, 1.0)
        };
        e.interconnect = (toggle_in * in_bits + toggle_out * out_bits) * net.energy_per_bit(t)
            + toggle_out * psum_bits * tile_side * t.wire_energy_per_bit_m();
        if op.activation {
            e.other += op.out_values * activation::activation_energy(t, op.out_bits);
        }
        if let Some(kind) = op.pool {
            e.other += activation::pool_energy(t, kind, op.out_values, op.out_bits);
        }

        let step = self.step_time(&adc, line_cells);
        let repl = m.replication as f64;
        let per_read = cycles * steps_per_cycle as f64 * step;
        let compute = (op.reads / repl).ceil() * per_read;
        let port = self.chip.bus_bits;
        let clock = self.chip.clock_hz;
        let stream = buffer::stream_time(stream_bits / (sum_tiles as f64 * repl), port, clock).max(
            buffer::stream_time(psum_bits / (fan_tiles as f64 * repl), port, clock),
        );
        let load = net.transfer_time(t, in_bits + out_bits, clock);
        let latency =
            compute.max(stream) + load + adder_tree::latency(combine as usize, self.chip.clock_hz);
        e.leakage = latency * (m.tiles as f64 * self.plan.tile_leakage + self.plan.global_leakage);
        Cost {
            energy: e,
            latency,
            conversions,
        }
    }
}
