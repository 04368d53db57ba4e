//! The training-only weight-gradient unit computing dW = sum over the batch of x (inputs) times
//! delta (errors): a systolic array of digital MACs, or SRAM compute-in-memory arrays with a
//! batch accumulator.

use super::adc::Adc;
use super::{adder_tree, drivers, mux, shift_add, FLOP_GATES, FULL_ADDER_GATES};
use crate::chip::tech::Tech;

#[derive(Debug, Clone, Copy)]
pub struct WgUnit {
    pub macs: u32,
    pub x_bits: u32,
    pub e_bits: u32,
    pub acc_bits: u32,
}

impl WgUnit {
    /// Operands fetched from SRAM are shared along a row or column of the square systolic array.
    fn reuse(&self) -> f64 {
        (self.macs as f64).sqrt().max(1.0)
    }

    /// Gates of one MAC: x_bits * e_bits partial-product cells (a full adder each) plus an
    /// accumulator (adder and register) of `acc_bits`.
    fn gates_per_mac(&self) -> f64 {
        (self.x_bits * self.e_bits) as f64 * FULL_ADDER_GATES
            + self.acc_bits as f64 * (FULL_ADDER_GATES + FLOP_GATES)
    }

    pub fn area(&self, t: &Tech) -> f64 {
        self.macs as f64 * self.gates_per_mac() * t.gate_area()
    }

    /// One MAC: multiplier array (Horowitz 2014: an 8x8 multiply ~ 64 full-adder cells),
    /// accumulate, and the operand fetch amortised over the systolic reuse, J.
    pub fn mac_energy(&self, t: &Tech) -> f64 {
        (self.x_bits * self.e_bits) as f64 * t.full_adder_energy()
            + self.acc_bits as f64 * (t.full_adder_energy() + t.flop_energy())
            + (self.x_bits + self.e_bits) as f64 * t.sram_bit_energy() / self.reuse()
    }

    /// Time for `macs` multiply-accumulates, s.
    pub fn time(&self, macs: f64, clock_hz: f64) -> f64 {
        macs / (self.macs as f64 * clock_hz)
    }

    pub fn leakage(&self, t: &Tech) -> f64 {
        self.macs as f64 * self.gates_per_mac() * t.gate_leak()
    }
}

/// Rows and columns of one SRAM compute-in-memory array of the weight-gradient unit.
pub const CIM_ARRAY: usize = 128;

/// Weight gradients on SRAM compute-in-memory arrays (the structure of DNN+NeuroSim V2's unit,
/// re-derived). For one kernel tap of a layer, the inputs X (output positions x C_in, every input
/// bit in its own column) are written into the arrays; each output channel's errors (one value
/// per position) are applied bit-serially on the rows, and every column's ADC gives the partial
/// dot product sum_p x_p,c delta_p for one input bit; shift-add over input bits and error bits,
/// and an adder tree over the arrays of a column, give dW for that tap and channel.
#[derive(Debug, Clone, Copy)]
pub struct SramCim {
    /// Arrays along the positions (rows) and along the input channels x bits (columns).
    pub arrays_row: usize,
    pub arrays_col: usize,
    pub adc: Adc,
    /// Columns per ADC.
    pub mux: usize,
    /// Bits of a stored input (one column each).
    pub x_bits: u32,
    /// Bits of an error, applied bit-serially.
    pub e_bits: u32,
}

/// Work of one layer's weight gradient on the unit, for one image.
#[derive(Debug, Clone, Copy)]
pub struct CimWork {
    /// Output positions read by the layer (matrix rows of X).
    pub positions: usize,
    pub c_in: usize,
    pub c_out: usize,
    /// Kernel taps k x k: each is a separate X^T delta product.
    pub taps: usize,
}

impl SramCim {
    /// Sized for the X of one tap of the largest layer: whole arrays only (at least one per
    /// side); a larger layer takes extra passes.
    pub fn sized_for(w: &CimWork, adc: Adc, mux: usize, x_bits: u32, e_bits: u32) -> Self {
        Self {
            arrays_row: (w.positions / CIM_ARRAY).max(1),
            arrays_col: (w.c_in * x_bits as usize / CIM_ARRAY).max(1),
            adc,
            mux: mux.clamp(1, CIM_ARRAY),
            x_bits,
            e_bits,
        }
    }

    pub fn arrays(&self) -> usize {
        self.arrays_row * self.arrays_col
    }

    fn adcs_per_array(&self) -> usize {
        CIM_ARRAY.div_ceil(self.mux)
    }

    fn shift_add_width(&self) -> usize {
        shift_add::width(self.adc.bits, self.e_bits)
    }

    /// Width of a finished gradient word: shift-added code plus the adder tree over arrays.
    pub fn out_bits(&self) -> usize {
        self.shift_add_width() + (self.arrays_row as f64).log2().ceil() as usize
    }

    /// One array with its periphery: SRAM cells, word-line drivers and write drivers, column
    /// mux, ADCs and shift-adders, m^2.
    fn array_area(&self, t: &Tech) -> f64 {
        let cells = (CIM_ARRAY * CIM_ARRAY) as f64 * t.sram_bit_area();
        let lanes = self.adcs_per_array() as f64;
        cells
            + drivers::area(t, CIM_ARRAY, CIM_ARRAY)
            + mux::area(t, CIM_ARRAY, self.mux)
            + lanes * (self.adc.area(t) + shift_add::area(t, self.shift_add_width()))
    }

    /// Adder trees joining the arrays of one column of arrays, m^2.
    fn tree_area(&self, t: &Tech) -> f64 {
        adder_tree::area(
            t,
            self.arrays_row,
            self.arrays_col * self.adcs_per_array(),
            self.out_bits(),
        )
    }

    pub fn area(&self, t: &Tech) -> f64 {
        self.arrays() as f64 * self.array_area(t) + self.tree_area(t)
    }

    pub fn leakage(&self, t: &Tech) -> f64 {
        let logic =
            self.area(t) - (self.arrays() * CIM_ARRAY * CIM_ARRAY) as f64 * t.sram_bit_area();
        logic / t.gate_area() * t.gate_leak()
            + (self.arrays() * CIM_ARRAY * CIM_ARRAY) as f64 * t.sram_bit_leak()
    }

    /// Copies of the layer's X that fit the unit side by side (different output channels read
    /// at once), and passes when X is larger than the unit.
    fn fit(&self, w: &CimWork) -> (usize, usize) {
        let need_r = w.positions.div_ceil(CIM_ARRAY).max(1);
        let need_c = (w.c_in * self.x_bits as usize).div_ceil(CIM_ARRAY).max(1);
        let copies = (self.arrays_row / need_r).max(1) * (self.arrays_col / need_c).max(1);
        let passes = need_r.div_ceil(self.arrays_row) * need_c.div_ceil(self.arrays_col);
        (copies, passes)
    }

    /// Time of one read: every error bit, and every column group behind the mux, s.
    fn read_time(&self, t: &Tech, clock_hz: f64) -> f64 {
        let (pitch, _) = t.cell_pitch();
        let step = drivers::line_delay(t, CIM_ARRAY, pitch, t.wl_cap_per_cell())
            + self.adc.latency(t)
            + 1.0 / clock_hz;
        (self.e_bits as usize * self.mux) as f64 * step
    }

    /// Latency of one layer's gradient for one image: per tap, write X (one row per clock) and
    /// read once per output channel (copies read different channels at once), s.
    pub fn time(&self, t: &Tech, w: &CimWork, clock_hz: f64) -> f64 {
        let (copies, passes) = self.fit(w);
        let rows_written = w.positions.min(self.arrays_row * CIM_ARRAY) as f64;
        let write = rows_written / clock_hz;
        let reads = w.c_out.div_ceil(copies) as f64;
        w.taps as f64 * passes as f64 * (write + reads * self.read_time(t, clock_hz))
    }

    /// Dynamic energy of one layer's gradient for one image: writing X, one conversion and
    /// shift-add per (column, error bit, output channel) of the used arrays, the bit lines
    /// precharged for each, and the adder trees, J.
    pub fn energy(&self, t: &Tech, w: &CimWork) -> f64 {
        let x_cells = (w.positions * w.c_in * self.x_bits as usize) as f64;
        let write = w.taps as f64 * x_cells * t.sram_bit_energy();
        let used_arrays = (w.positions.div_ceil(CIM_ARRAY)
            * (w.c_in * self.x_bits as usize).div_ceil(CIM_ARRAY)) as f64;
        let conversions =
            w.taps as f64 * w.c_out as f64 * self.e_bits as f64 * used_arrays * CIM_ARRAY as f64;
        let per_conv =
            self.adc.energy(t) + shift_add::energy(t, self.shift_add_width()) + t.sram_bit_energy();
        let tree = adder_tree::energy(
            t,
            w.taps as f64
                * (w.c_out * w.c_in * self.x_bits as usize) as f64
                * (w.positions.div_ceil(CIM_ARRAY) as f64 - 1.0).max(0.0),
            self.out_bits(),
        );
        write + conversions * per_conv + tree
    }
}

/// The batch accumulator behind the unit: `words` adders of `bits` bits, adding one image's
/// gradient block to the running sum each cycle.
#[derive(Debug, Clone, Copy)]
pub struct Accumulator {
    pub words: usize,
    pub bits: usize,
}

impl Accumulator {
    pub fn area(&self, t: &Tech) -> f64 {
        (self.words * self.bits) as f64 * FULL_ADDER_GATES * t.gate_area()
    }

    pub fn leakage(&self, t: &Tech) -> f64 {
        (self.words * self.bits) as f64 * FULL_ADDER_GATES * t.gate_leak()
    }

    /// Adding `weights` gradients: energy J and time s.
    pub fn add(&self, t: &Tech, weights: f64, clock_hz: f64) -> (f64, f64) {
        (
            weights * self.bits as f64 * t.full_adder_energy(),
            (weights / self.words as f64).ceil() / clock_hz,
        )
    }
}
