//! Floorplan: what one tile holds, how many tiles the mapped layers need, and the resulting chip
//! area by category, chip side, interconnect and leakage power.

use serde::Serialize;

use super::blocks::{
    activation, adc::Adc, adder_tree, buffer, cell_array, drivers, interconnect::Network, mux,
    neurosim_fit, shift_add, wg_unit::WgUnit,
};
use super::config::{ChipConfig, FloorplanMode};
use super::mapping::{grid_side, MatrixMap};
use super::neurosim_cycles::{self, Datapath};
use super::neurosim_plan::NsPlan;
use super::sizing;
use super::tech::{ReadMode, Tech};
use crate::config::ArrayConfig;
use crate::nn::arch::LayerShape;

/// Area by category, m^2.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AreaParts {
    pub arrays: f64,
    pub adc: f64,
    pub shift_add_accumulation: f64,
    pub buffers: f64,
    pub interconnect: f64,
    pub other: f64,
}

impl AreaParts {
    pub fn total(&self) -> f64 {
        self.arrays
            + self.adc
            + self.shift_add_accumulation
            + self.buffers
            + self.interconnect
            + self.other
    }
    fn scaled(&self, k: f64) -> AreaParts {
        AreaParts {
            arrays: self.arrays * k,
            adc: self.adc * k,
            shift_add_accumulation: self.shift_add_accumulation * k,
            buffers: self.buffers * k,
            interconnect: self.interconnect * k,
            other: self.other * k,
        }
    }
    fn add(&mut self, o: &AreaParts) {
        self.arrays += o.arrays;
        self.adc += o.adc;
        self.shift_add_accumulation += o.shift_add_accumulation;
        self.buffers += o.buffers;
        self.interconnect += o.interconnect;
        self.other += o.other;
    }
}

/// The chip built from identical tiles.
#[derive(Debug, Clone)]
pub struct Floorplan {
    pub tile: AreaParts,
    /// Leakage of one powered tile, W.
    pub tile_leakage: f64,
    /// Each tile kind's local H-tree from its buffer to its PEs: one kind (the `fixed`
    /// floorplan), or NeuroSim's novel and conventional kinds, in that order.
    pub tile_nets: Vec<Network>,
    pub tiles: usize,
    /// Tiles holding DFA feedback arrays (part of `tiles` when counted).
    pub feedback_tiles: usize,
    pub area: AreaParts,
    pub network: Network,
    /// Leakage of the always-on global parts (global buffer, accumulator, repeaters), W.
    pub global_leakage: f64,
    /// Weight-gradient unit and its buffer (training only): area m^2, leakage W.
    pub wg_area: f64,
    pub wg_leakage: f64,
    /// Width of partial sums after shift-add and accumulation, bits.
    pub acc_bits: usize,
    pub adcs_per_subarray: usize,
    /// Buffers are register files (the `neurosim` floorplan) rather than SRAM macros.
    pub register_buffers: bool,
}

impl Floorplan {
    /// Energy of moving `bits` bits through the chip's buffers, J.
    pub fn buffer_energy(&self, t: &Tech, bits: f64) -> f64 {
        if self.register_buffers {
            buffer::register_energy(t, bits)
        } else {
            buffer::energy(t, bits)
        }
    }

    /// The local H-tree of the tile kind a layer sits on (`novel`: NeuroSim's novel-mapped
    /// tiles; ignored by the one-kind `fixed` floorplan).
    pub fn tile_net(&self, novel: bool) -> &Network {
        let i = if novel { 0 } else { 1 };
        &self.tile_nets[i.min(self.tile_nets.len() - 1)]
    }
}

/// Area and leakage of a buffer of `bits` bits: an SRAM macro, or a register file.
fn buffer_cost(t: &Tech, bits: f64, register: bool) -> (f64, f64) {
    if register {
        (
            buffer::register_area(t, bits),
            buffer::register_leakage(t, bits),
        )
    } else {
        let kib = bits / buffer::bits(1.0);
        (buffer::area(t, kib), buffer::leakage(t, kib))
    }
}

pub struct FloorplanInput<'a> {
    pub tech: &'a Tech,
    pub array: &'a ArrayConfig,
    pub chip: &'a ChipConfig,
    pub maps: &'a [MatrixMap],
    pub feedback: &'a [MatrixMap],
    pub wg: Option<WgUnit>,
    /// ADC of the forward read (the backward ADC of training shares the same converters, sized
    /// for the larger of the two).
    pub adc: Adc,
    /// The network (sizes the buffers of the `neurosim` floorplan).
    pub layers: &'a [LayerShape],
    /// NeuroSim's floorplan (the `neurosim` mode): tile kinds and counts.
    pub ns: Option<&'a NsPlan>,
}

/// NeuroSim's interconnect area over ours (the `neurosim` floorplan, V1.4), else 1.
fn wire_scale(inp: &FloorplanInput) -> f64 {
    if neurosim_fit::applies(inp.chip) {
        neurosim_fit::wire_scale(inp.tech.node.f_nm, &inp.tech.memory)
    } else {
        1.0
    }
}

/// One tile kind: `spe` x `spe` subarrays per PE, `stile` x `stile` PEs.
struct TileKind {
    parts: AreaParts,
    leakage: f64,
    net: Network,
}

fn tile_kind(inp: &FloorplanInput, spe: usize, stile: usize, acc_bits: usize) -> TileKind {
    let (t, a, chip) = (inp.tech, inp.array, inp.chip);
    let (r, c) = (a.rows as usize, a.cols as usize);
    let subs_per_tile = (spe * spe * stile * stile) as f64;
    let adcs = c.div_ceil(a.mux as usize);
    let w_sa = shift_add::width(inp.adc.bits, a.input_bits.max(a.error_bits));

    // One subarray with its periphery.
    let sub_cells = cell_array::area(t, r, c);
    let register = chip.floorplan == FloorplanMode::Neurosim;
    let (node, mem) = (t.node.f_nm, t.memory.as_str());
    // The `neurosim` floorplan (V1.4) takes NeuroSim's per-memory ADC and periphery sizes.
    let (adc_area, periphery) = if neurosim_fit::applies(chip) {
        (
            neurosim_fit::adc_area(node, mem, inp.adc.bits),
            neurosim_fit::driver_scale(node, mem),
        )
    } else {
        (inp.adc.area(t), 1.0)
    };
    let sub_adc = adcs as f64 * adc_area;
    let sub_sa = adcs as f64 * shift_add::area(t, w_sa);
    let sub_other = periphery * (drivers::area(t, r, c) + mux::area(t, c, a.mux as usize));
    // PE adder trees: one per column of subarrays, `spe` inputs, `adcs` lanes per subarray.
    let pe_tree = spe as f64 * adder_tree::area(t, spe, adcs, acc_bits);
    // Tile adder trees over PEs, and the tile's local H-tree between its PEs.
    let tile_tree = stile as f64 * adder_tree::area(t, stile, spe * adcs, acc_bits);
    let lanes = (chip.bus_bits / a.input_bits).max(1) as usize;
    let act = activation::activation_area(t, lanes, a.input_bits)
        + activation::pool_area(t, lanes, a.input_bits);
    let pes = (stile * stile) as f64;
    let (tile_bits, pe_bits) = if register {
        // One input vector and one output vector of the unit, as register files.
        let (pe_rows, pe_cols) = (spe * r, spe * c);
        (
            sizing::io_buffer_bits(
                stile * pe_rows,
                stile * pe_cols,
                a.mux,
                a.input_bits,
                acc_bits,
            ),
            sizing::io_buffer_bits(pe_rows, pe_cols, a.mux, a.input_bits, acc_bits),
        )
    } else {
        (
            buffer::bits(chip.buffer_kb),
            buffer::bits(chip.pe_buffer_kb),
        )
    };
    let (tile_buf_area, tile_buf_leak) = buffer_cost(t, tile_bits, register);
    let (pe_buf_area, pe_buf_leak) = buffer_cost(t, pe_bits, register);
    let tile_buf = tile_buf_area + pes * pe_buf_area;
    let core = subs_per_tile * (sub_cells + sub_adc + sub_sa + sub_other)
        + pes * pe_tree
        + tile_tree
        + act
        + tile_buf;
    let tile_net = Network {
        kind: chip.interconnect,
        leaves: stile * stile,
        side: core.sqrt(),
        bus_bits: chip.bus_bits,
    };
    let parts = AreaParts {
        arrays: subs_per_tile * sub_cells,
        adc: subs_per_tile * sub_adc,
        shift_add_accumulation: subs_per_tile * sub_sa + pes * pe_tree + tile_tree,
        buffers: tile_buf,
        interconnect: tile_net.area(t) * wire_scale(inp),
        other: subs_per_tile * sub_other + act,
    };
    let logic_leak = |area: f64| area / t.gate_area() * t.gate_leak();
    let sram_cells_leak = if t.cell.read == ReadMode::Capacitive {
        subs_per_tile * (r * c) as f64 * t.sram_bit_leak()
    } else {
        0.0
    };
    let leakage = subs_per_tile
        * (adcs as f64 * (inp.adc.leakage(t) + shift_add::leakage(t, w_sa))
            + drivers::leakage(t, r, c))
        + logic_leak(pes * pe_tree + tile_tree + act)
        + tile_buf_leak
        + pes * pe_buf_leak
        + tile_net.leakage(t)
        + sram_cells_leak;
    TileKind {
        parts,
        leakage,
        net: tile_net,
    }
}

pub fn build(inp: &FloorplanInput) -> Floorplan {
    let (t, a, chip) = (inp.tech, inp.array, inp.chip);
    let c = a.cols as usize;
    let adcs = c.div_ceil(a.mux as usize);
    let w_sa = shift_add::width(inp.adc.bits, a.input_bits.max(a.error_bits));
    let max_blocks = inp
        .maps
        .iter()
        .map(|m| m.row_blocks * m.slice_groups)
        .max()
        .unwrap_or(1);
    let acc_bits = w_sa + a.weight_bits as usize + (max_blocks as f64).log2().ceil() as usize;
    let register = chip.floorplan == FloorplanMode::Neurosim;
    let global_bits = if register {
        sizing::global_buffer_bits(inp.layers, a.input_bits, chip.pipelined)
    } else {
        buffer::bits(chip.global_buffer_kb)
    };
    let (global_buf_area, global_buf_leak) = buffer_cost(t, global_bits, register);

    // Tiles: one kind for the configured grid, or NeuroSim's novel and conventional kinds.
    let side = |cells: usize| (cells / a.rows.max(1) as usize).max(1);
    let kinds: Vec<(TileKind, usize)> = match inp.ns {
        Some(ns) => {
            let novel: usize = ns
                .layers
                .iter()
                .filter(|l| l.novel)
                .map(|l| l.tiles())
                .sum();
            let conv: usize = ns
                .layers
                .iter()
                .filter(|l| !l.novel)
                .map(|l| l.tiles())
                .sum();
            let nm_side = ((ns.pes_novel.max(1) as f64).sqrt().ceil()) as usize;
            vec![
                (tile_kind(inp, side(ns.pe_novel), nm_side, acc_bits), novel),
                (
                    tile_kind(
                        inp,
                        side(ns.pe_conv),
                        ns.tile_conv / ns.pe_conv.max(1),
                        acc_bits,
                    ),
                    conv,
                ),
            ]
        }
        None => {
            let tiles: usize = inp.maps.iter().map(|m| m.tiles).sum();
            let k = tile_kind(
                inp,
                grid_side(chip.subarrays_per_pe),
                grid_side(chip.pes_per_tile),
                acc_bits,
            );
            vec![(k, tiles)]
        }
    };
    let map_tiles: usize = kinds.iter().map(|k| k.1).sum();
    let tile_nets = kinds.iter().map(|k| k.0.net).collect();
    let mut area = AreaParts::default();
    let mut leak = 0.0;
    for (k, n) in &kinds {
        area.add(&k.parts.scaled(*n as f64));
        leak += k.leakage * *n as f64;
    }
    // The mean tile stands for a layer's tile where one is needed (feedback arrays, leakage).
    let (tile, tile_leakage) = if map_tiles > 0 {
        (area.scaled(1.0 / map_tiles as f64), leak / map_tiles as f64)
    } else {
        (kinds[0].0.parts, kinds[0].0.leakage)
    };
    let logic_leak = |area: f64| area / t.gate_area() * t.gate_leak();
    let feedback_tiles: usize = inp.feedback.iter().map(|m| m.tiles).sum();
    let tiles = map_tiles + feedback_tiles;
    area.add(&tile.scaled(feedback_tiles as f64));
    // Global buffer and the accumulator that adds partial sums of layers spanning several tiles.
    let g_lanes = (chip.bus_bits as usize / acc_bits).max(1);
    let g_acc = adder_tree::area(t, 2, g_lanes, acc_bits);
    area.buffers += global_buf_area;
    area.shift_add_accumulation += g_acc;
    let (wg_area, wg_leakage) = match inp.wg {
        Some(wg) => (
            wg.area(t) + buffer::area(t, chip.wg_buffer_kb),
            wg.leakage(t) + buffer::leakage(t, chip.wg_buffer_kb),
        ),
        None => (0.0, 0.0),
    };
    area.other += wg_area;
    // NeuroSim's chip bus is as wide as the tiles' ports (see `neurosim_cycles::chip_bus`).
    let global_bus = match inp.ns {
        Some(ns) => {
            let dp = Datapath {
                sub_rows: a.rows as usize,
                input_bits: a.input_bits,
                adc_bits: inp.adc.bits,
                cell_bits: a.cell_bits,
                parallel_rows: a.parallel_rows as usize,
                mux: a.mux as usize,
                pipelined: chip.pipelined,
            };
            neurosim_cycles::chip_bus(ns, inp.layers, &dp)
                .bus_bits
                .round() as u32
        }
        None => chip.bus_bits,
    };
    let network = Network {
        kind: chip.interconnect,
        leaves: tiles.max(1),
        side: area.total().sqrt(),
        bus_bits: global_bus.max(1),
    };
    area.add(&AreaParts {
        interconnect: network.area(t) * wire_scale(inp),
        ..Default::default()
    });
    let global_leakage = global_buf_leak + logic_leak(g_acc) + network.leakage(t);
    Floorplan {
        tile,
        tile_leakage,
        tile_nets,
        tiles,
        feedback_tiles,
        area,
        network,
        global_leakage,
        wg_area,
        wg_leakage,
        acc_bits,
        adcs_per_subarray: adcs,
        register_buffers: register,
    }
}
