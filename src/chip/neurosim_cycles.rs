//! Clock cycles one image spends in each layer of a synchronous NeuroSim-style chip (DNN+NeuroSim
//! V1.4's latency model, re-derived): sensing, accumulation, buffers and interconnect, each a
//! count of bus-width transfers or sensing steps on the floorplan of `neurosim_plan`.
//!
//! Data movement per layer and image (b = input bits, P = valid output positions):
//! - Global buffer: the layer's inputs (rows x b x P, divided by the kernel side for novel-mapped
//!   layers, whose sliding windows reuse k - 1 columns of the previous window) go out and its
//!   outputs (C_out x b x P, a quarter after 2x2 pooling) come back, 128 bits per line, on as many
//!   buffer cores as the bus can feed at once.
//! - Tile buffers (register files): each tile writes and reads its input share and its partial
//!   sums once, a line per cycle, on parallel 32x32-bit cores; the input share is divided by
//!   the PE-grid side for novel-mapped tiles.
//! - Interconnect: bus reads of the same bits (tile H-tree, PE buses, the chip's X-Y bus); a read
//!   of the chip bus takes as many cycles as its wire needs.
//! - Sensing: P x b read cycles x row passes x columns per ADC, shared by the layer's copies.
//! - Accumulation: one adder-tree pass per output group where partial sums of several PEs or
//!   subarrays meet.

use super::neurosim_plan::NsPlan;
use crate::nn::arch::{LayerKind, LayerShape};

/// Bits of one global-buffer line and the bus-width limit of the chip (NeuroSim defaults).
const GLOBAL_LINE_BITS: f64 = 128.0;
const GLOBAL_CORE_BITS: f64 = 128.0 * 128.0;
const MAX_GLOBAL_BUS_BITS: f64 = 2048.0;
/// Tile buffer cores: 32 x 32 bits, one 32-bit line per cycle.
const TILE_CORE_BITS: f64 = 1024.0;
const TILE_LINE_BITS: f64 = 32.0;

/// Cycles by mechanism.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cycles {
    pub sensing: f64,
    pub accumulation: f64,
    pub buffer: f64,
    pub interconnect: f64,
}

impl Cycles {
    pub fn total(&self) -> f64 {
        self.sensing + self.accumulation + self.buffer + self.interconnect
    }
}

/// Array and data-path settings the counts depend on.
pub struct Datapath {
    pub sub_rows: usize,
    pub input_bits: u32,
    pub adc_bits: u32,
    pub cell_bits: u32,
    pub parallel_rows: usize,
    pub mux: usize,
    pub pipelined: bool,
}

/// Chip-level sizes shared by all layers.
pub struct ChipBus {
    /// Width of the chip bus, bits.
    pub bus_bits: f64,
    /// Global-buffer cores that work in parallel.
    pub buffer_cores: f64,
    /// Tile grid of the chip.
    pub grid_rows: usize,
    pub grid_cols: usize,
}

/// NetWork.csv view: IFM side, input channels, kernel side.
fn ifm(s: &LayerShape) -> (usize, usize, usize) {
    match s.kind {
        LayerKind::Fc => (1, s.fan_in, 1),
        _ => (s.in_h, s.c_in, s.k),
    }
}

/// The bus is as wide as the tiles' input and output ports together (each tile of a pipelined
/// chip has its own), halved until it fits the chip limit; the global buffer holds the largest
/// layer input (layer by layer) or half of all of them (pipelined).
pub fn chip_bus(plan: &NsPlan, layers: &[LayerShape], dp: &Datapath) -> ChipBus {
    let mux = dp.mux.max(1) as f64;
    let side = (plan.pes_novel as f64).sqrt().ceil();
    let mut bus = 0.0;
    for l in &plan.layers {
        let port = if l.novel {
            plan.pe_novel as f64 * side
        } else {
            plan.tile_conv as f64
        } * (1.0 + 1.0 / mux);
        bus += if dp.pipelined {
            port * l.tiles() as f64
        } else {
            port
        };
    }
    while bus > MAX_GLOBAL_BUS_BITS {
        bus /= 2.0;
    }
    let inputs = layers.iter().map(|s| {
        let (h, ci, _) = ifm(s);
        let w = if s.kind == LayerKind::Fc { 1 } else { s.in_w };
        (h * w * ci) as f64
    });
    let held = if dp.pipelined {
        inputs.map(|v| v / 2.0).sum::<f64>()
    } else {
        inputs.fold(0.0, f64::max)
    };
    let tiles: usize = plan.layers.iter().map(|l| l.tiles()).sum::<usize>().max(1);
    let grid_rows = (tiles as f64).sqrt().ceil() as usize;
    ChipBus {
        bus_bits: bus,
        buffer_cores: (dp.input_bits as f64 * held / GLOBAL_CORE_BITS)
            .ceil()
            .max(1.0),
        grid_rows,
        grid_cols: tiles.div_ceil(grid_rows),
    }
}

/// Lines of a register-file buffer of `width_bits` per cycle on as many cores as it has and the
/// bus beside it can feed: (line width, parallel cores).
fn register_port(width_bits: f64, port_units: f64, bus_bits: f64) -> (f64, f64) {
    let (line, cores) = if width_bits < TILE_CORE_BITS {
        (port_units, 1.0)
    } else {
        (TILE_LINE_BITS, (width_bits / TILE_CORE_BITS).ceil())
    };
    (line, cores.min((bus_bits / line).ceil()).max(1.0))
}

/// Cycles of layer `l` for one image. `reads` = valid output positions; `bus_read_cycles`
/// = (input, output) cycles of one chip-bus transfer.
pub fn layer_cycles(
    plan: &NsPlan,
    bus: &ChipBus,
    dp: &Datapath,
    s: &LayerShape,
    l: usize,
    reads: f64,
    bus_read_cycles: (f64, f64),
) -> Cycles {
    let lp = &plan.layers[l];
    let (_, ci, k) = ifm(s);
    let r = dp.sub_rows.max(1) as f64;
    let b = dp.input_bits as f64;
    let mux = dp.mux.max(1) as f64;
    let cpw = plan.cols_per_weight as f64;
    let rows = (ci * k * k) as f64;
    let cols = s.fan_out as f64 * cpw;
    let speedup = lp.speedup.max(1) as f64;
    let par_passes = (r / dp.parallel_rows.max(1) as f64)
        .ceil()
        .log2()
        .ceil()
        .max(0.0);
    // Bits of a subarray's shift-added output: ADC code, row passes, input bits, slices, sign.
    let sub_out = dp.adc_bits as f64 + par_passes + b + (cpw - 1.0) * dp.cell_bits as f64 + 1.0;

    // The tile this layer fills most: its PEs, PE side and input/output share.
    let (pes, pe, tile_cols, in_share) = if lp.novel {
        let pes = plan.pes_novel.max(1) as f64;
        let pe = plan.pe_novel as f64;
        let tr = rows.min(pe * pes);
        (pes, pe, cols.min(pe), tr * reads * b / pes.sqrt())
    } else {
        let pe = plan.pe_conv as f64;
        let pes = (plan.tile_conv as f64 / pe).ceil();
        let t = plan.tile_conv as f64;
        let tr = rows.min(t);
        (pes, pe, cols.min(t), tr * reads * b)
    };
    let pe_out = sub_out + pe / r;
    let stages = if pes > 1.0 { pes.log2().ceil() } else { 0.0 };
    let acc_bits = pe_out + stages;
    let out_share = (tile_cols / cpw).ceil() * acc_bits * reads;
    let tile_bus = pes * pe;
    let (in_line, in_cores) = register_port(pes * b * r, pes * r, tile_bus);
    let (out_line, out_cores) = register_port(acc_bits * pes * r / mux, acc_bits * pes, tile_bus);
    let tile_buffer = in_share / in_line / in_cores + out_share / out_line / out_cores;

    let to_tiles = rows * b * reads / if lp.novel { k as f64 } else { 1.0 };
    let pooled = if s.pool.is_some() { 4.0 } else { 1.0 };
    let from_tiles = s.fan_out as f64 * b * reads / pooled;
    let global_buffer = (to_tiles + from_tiles)
        / GLOBAL_LINE_BITS
        / bus
            .buffer_cores
            .min((bus.bus_bits / GLOBAL_LINE_BITS).ceil());

    // Interconnect: tile H-tree, PE buses (shared by the copies), chip X-Y bus.
    let h_tree = (in_share + out_share) / tile_bus;
    let pe_rows = if lp.novel {
        (rows.min(pe * pes) / pes).floor().max(1.0)
    } else {
        rows.min(pe)
    };
    let pe_sub = (pe / r).max(1.0);
    let pe_bus = (pe_rows * reads * b / r
        + (cols.min(pe) / cpw).ceil() * (sub_out + pe_sub.log2().ceil()) * reads / (pe_sub * r))
        / speedup;
    let chip_in =
        (to_tiles / bus.bus_bits * bus.grid_rows as f64 / lp.tile_rows.max(1) as f64).ceil();
    let chip_out =
        (from_tiles / bus.bus_bits * bus.grid_cols as f64 / lp.tile_cols.max(1) as f64).ceil();
    let chip_bus = chip_in * bus_read_cycles.0 + chip_out * bus_read_cycles.1;

    let row_passes = (rows.min(r) / dp.parallel_rows.max(1) as f64).ceil();
    let sensing = reads * b * row_passes * mux / speedup;
    let groups = reads * (mux / cpw).ceil();
    // Tile adder tree: novel tiles always sum their PEs' taps, conventional tiles only when the
    // matrix spans PE rows; PE adder trees when a PE's rows span subarrays.
    let tile_sum = if lp.novel { pes > 1.0 } else { rows > pe };
    let accumulation =
        if tile_sum { groups } else { 0.0 } + if pe_rows > r { groups / speedup } else { 0.0 };
    Cycles {
        sensing,
        accumulation,
        buffer: tile_buffer + global_buffer,
        interconnect: h_tree + pe_bus + chip_bus,
    }
}
