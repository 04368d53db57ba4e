//! The training chip: the inference chip plus the hardware that training adds, as its own object
//! with an area tree whose children sum to their parent.
//!
//! - BP's transposed read: every subarray gets row-side ADCs, a row multiplexer and shift-adders
//!   (the column-side ones serve the forward read), at `adc_bits_backward`.
//! - DFA: the fixed feedback arrays B_l in tiles of their own, with the tiles' periphery; under
//!   `dfa_scope = "fc_head"` those of the hidden FC layers, and BP's row-side periphery on the
//!   arrays whose transposed reads carry the first FC layer's error into the conv stack.
//! - Batched update: weight-gradient units (SRAM compute-in-memory arrays sized from the network,
//!   or digital MAC arrays), one shared or one per layer, each with a gradient buffer and a batch
//!   accumulator.
//! - Outer-product update: stochastic pulse translators on every row and column instead.

use serde::Serialize;

use super::blocks::adc::Adc;
use super::blocks::wg_unit::{Accumulator, CimWork, SramCim, WgUnit, CIM_ARRAY};
use super::blocks::{buffer, mux, shift_add, FLOP_GATES};
use super::built::Built;
use super::schedule::Rule;
use super::training_config::{UpdateScheme, WgKind, WgPlacement};
use crate::config::ArrayConfig;
use crate::nn::arch::LayerShape;

/// Gates of one stochastic pulse translator per line: a comparator of the line's value against
/// a shared random number (2 gates per bit) and the pulse latch.
const TRANSLATOR_GATES_PER_BIT: f64 = 2.0;

/// Area of the row-side periphery of BP's transposed read, mm^2.
#[derive(Debug, Clone, Serialize)]
pub struct TransposedReadArea {
    pub total: f64,
    pub adc: f64,
    pub mux: f64,
    pub shift_add: f64,
}

/// Area of the weight-gradient hardware, mm^2.
#[derive(Debug, Clone, Serialize)]
pub struct GradientArea {
    pub total: f64,
    /// The units themselves (SRAM-CIM arrays with their periphery, or MAC arrays).
    pub units: f64,
    /// Batch accumulators (SRAM-CIM units; the MAC arrays accumulate in place).
    pub accumulators: f64,
    /// Gradient buffers.
    pub buffers: f64,
    /// Pulse translators of the outer-product update.
    pub pulse_translators: f64,
}

/// The training chip's area, mm^2: `total` = the sum of the other fields, each a subtree.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingChipArea {
    pub total: f64,
    /// The inference chip (the report's `area_mm2.total`).
    pub inference_chip: f64,
    pub transposed_read: TransposedReadArea,
    pub feedback_arrays: f64,
    pub weight_gradient: GradientArea,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainingChipReport {
    pub rule: Rule,
    pub area_mm2: TrainingChipArea,
    /// Weight-gradient units on the chip (0 with the outer-product update).
    pub wg_units: usize,
    /// SRAM-CIM arrays over all units.
    pub wg_arrays: usize,
    /// Gradient buffers of all units, bits.
    pub gradient_buffer_bits: f64,
}

/// One weight-gradient unit with its accumulator and gradient buffer.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Cim { cim: SramCim, acc: Accumulator },
    Digital(WgUnit),
}

/// The gradient hardware of a batched-update chip: the units and which unit serves each layer.
#[derive(Debug, Clone)]
pub struct GradientHw {
    pub units: Vec<Unit>,
    /// Bits of each unit's gradient buffer.
    pub buffer_bits: Vec<f64>,
    pub unit_of_layer: Vec<usize>,
}

/// Subarrays programmed at once from a gradient buffer of `buffer_bits`: it holds the pulse
/// counts (weight_bits each) of that many subarrays.
fn program_parallel(buffer_bits: f64, a: &ArrayConfig) -> usize {
    let block = (a.rows * a.cols * a.weight_bits) as f64;
    ((buffer_bits / block).floor() as usize).max(1)
}

/// The work of layer `s` on an SRAM-CIM unit.
pub fn cim_work(s: &LayerShape, positions: usize) -> CimWork {
    CimWork {
        positions,
        c_in: s.c_in,
        c_out: s.c_out,
        taps: s.k * s.k,
    }
}

impl GradientHw {
    /// Sized as `[chip.training]` asks; `None` for the outer-product update.
    pub(crate) fn build(b: &Built, batch: usize) -> Option<GradientHw> {
        let cfg = &b.req.chip.training;
        if cfg.update == UpdateScheme::OuterProduct {
            return None;
        }
        let (a, chip) = (b.req.array, b.req.chip);
        let layers = b.req.layers;
        // The layers each unit serves.
        let groups: Vec<Vec<usize>> = match cfg.wg_placement {
            WgPlacement::Shared => vec![(0..layers.len()).collect()],
            WgPlacement::PerLayer => (0..layers.len()).map(|l| vec![l]).collect(),
        };
        let mut unit_of_layer = vec![0; layers.len()];
        for (u, g) in groups.iter().enumerate() {
            for &l in g {
                unit_of_layer[l] = u;
            }
        }
        let input_bits = |l: usize| (layers[l].inputs() * a.input_bits as usize) as f64;
        let (units, buffer_bits) = groups
            .iter()
            .map(|g| match cfg.wg_unit {
                WgKind::Digital => (
                    Unit::Digital(WgUnit {
                        macs: chip.wg_macs,
                        x_bits: a.input_bits,
                        e_bits: a.error_bits,
                        acc_bits: chip.gradient_bits,
                    }),
                    buffer::bits(chip.wg_buffer_kb),
                ),
                WgKind::SramCim => {
                    // Sized from the served layer with the largest input.
                    let big = *g
                        .iter()
                        .max_by(|&&x, &&y| input_bits(x).total_cmp(&input_bits(y)))
                        .expect("a unit serves at least one layer");
                    let adc = Adc {
                        bits: cfg.wg_adc_bits,
                        kind: chip.adc_type,
                    };
                    let cim = SramCim::sized_for(
                        &cim_work(&layers[big], b.reads[big] as usize),
                        adc,
                        cfg.wg_mux as usize,
                        a.input_bits,
                        a.error_bits,
                    );
                    // The gradient buffer holds at least one array's block of gradient words
                    // and doubles until it matches the buffer the inference chip needs for
                    // the largest input it serves.
                    let bits = cim.out_bits() + (batch as f64).log2().ceil() as usize;
                    let mut words = CIM_ARRAY * CIM_ARRAY;
                    while ((words * bits) as f64) < input_bits(big) {
                        words *= 2;
                    }
                    let buffer_bits = (words * bits) as f64;
                    // One adder per weight programmed at once, so that accumulation keeps pace
                    // with programming (`program_parallel`).
                    let sub = (a.rows * a.cols) as usize;
                    let parallel = program_parallel(buffer_bits, a);
                    (
                        Unit::Cim {
                            cim,
                            acc: Accumulator {
                                words: parallel * sub,
                                bits,
                            },
                        },
                        buffer_bits,
                    )
                }
            })
            .unzip();
        Some(GradientHw {
            units,
            buffer_bits,
            unit_of_layer,
        })
    }

    /// Subarrays of layer `l` programmed at once.
    pub(crate) fn program_parallel(&self, b: &Built, l: usize) -> usize {
        program_parallel(self.buffer_of(l), b.req.array)
    }

    /// Gradient buffer of the unit serving layer `l`, bits.
    pub fn buffer_of(&self, l: usize) -> f64 {
        self.buffer_bits[self.unit_of_layer[l]]
    }

    /// Bits of a stored gradient word.
    pub fn gradient_bits(&self, l: usize) -> f64 {
        match self.units[self.unit_of_layer[l]] {
            Unit::Cim { acc, .. } => acc.bits as f64,
            Unit::Digital(u) => u.acc_bits as f64,
        }
    }

    /// (units, accumulators, buffers) area, m^2.
    fn areas(&self, b: &Built) -> (f64, f64, f64) {
        let t = &b.tech;
        let mut parts = (0.0, 0.0, 0.0);
        for (u, &bits) in self.units.iter().zip(&self.buffer_bits) {
            match u {
                Unit::Cim { cim, acc } => {
                    parts.0 += cim.area(t);
                    parts.1 += acc.area(t);
                }
                Unit::Digital(w) => parts.0 += w.area(t),
            }
            parts.2 += buffer::area(t, bits / buffer::bits(1.0));
        }
        parts
    }

    /// Leakage of the unit serving layer `l`, with its buffer, W.
    pub(crate) fn leakage(&self, b: &Built, l: usize) -> f64 {
        let t = &b.tech;
        let u = self.unit_of_layer[l];
        buffer::leakage(t, self.buffer_bits[u] / buffer::bits(1.0))
            + match self.units[u] {
                Unit::Cim { cim, acc } => cim.leakage(t) + acc.leakage(t),
                Unit::Digital(w) => w.leakage(t),
            }
    }
}

/// Subarrays on the inference chip's tiles, as its floorplan allocates them (the fixed grid of
/// `subarrays_per_pe` x `pes_per_tile`, or the `neurosim` mode's novel and conventional tiles).
fn inference_subarrays(b: &Built) -> f64 {
    b.maps.iter().map(|m| m.subarrays_allocated).sum::<usize>() as f64
}

/// Area of the row-side periphery added to `subarrays` subarrays, m^2.
fn transposed_read(b: &Built, subarrays: f64) -> (f64, f64, f64) {
    let (t, a, chip) = (&b.tech, b.req.array, b.req.chip);
    let rows = a.rows as usize;
    let lanes = rows.div_ceil(a.mux as usize) as f64;
    let adc = Adc {
        bits: a.adc_bits_backward,
        kind: chip.adc_type,
    };
    let w = shift_add::width(a.adc_bits_backward, a.error_bits);
    (
        subarrays * lanes * adc.area(t),
        subarrays * mux::area(t, rows, a.mux as usize),
        subarrays * lanes * shift_add::area(t, w),
    )
}

/// Area of the pulse translators of the outer-product update: one per row and per column of
/// every subarray, comparing the line's value (input or error bits) with a shared random number.
fn pulse_translators(b: &Built) -> f64 {
    let (t, a) = (&b.tech, b.req.array);
    let subarrays = inference_subarrays(b);
    let per_line =
        |bits: u32| (TRANSLATOR_GATES_PER_BIT * bits as f64 + FLOP_GATES) * t.gate_area();
    subarrays * (a.rows as f64 * per_line(a.error_bits) + a.cols as f64 * per_line(a.input_bits))
}

/// Tiles of DFA's feedback arrays (with the same tile periphery as the forward tiles).
pub(crate) fn feedback_tiles(b: &Built) -> usize {
    b.feedback.iter().flatten().map(|m| m.tiles).sum()
}

/// The training chip for `rule`.
pub(crate) fn report(b: &Built, rule: Rule, hw: Option<&GradientHw>) -> TrainingChipReport {
    let mm2 = 1e6;
    // BP: every subarray of the inference chip. DFA: those of the arrays its chain of
    // transposed reads uses (`fc_head`), none under `all`.
    let (adc, mux_a, sa) = match rule {
        Rule::Bp => transposed_read(b, inference_subarrays(b)),
        Rule::Dfa if b.dfa_chain_top > 0 => {
            let chain = &b.maps[1..=b.dfa_chain_top];
            let subarrays = chain.iter().map(|m| m.subarrays_allocated).sum::<usize>();
            transposed_read(b, subarrays as f64)
        }
        Rule::Dfa => (0.0, 0.0, 0.0),
    };
    let tr = TransposedReadArea {
        total: (adc + mux_a + sa) * mm2,
        adc: adc * mm2,
        mux: mux_a * mm2,
        shift_add: sa * mm2,
    };
    let feedback = match rule {
        Rule::Bp => 0.0,
        Rule::Dfa => feedback_tiles(b) as f64 * b.plan.tile.total() * mm2,
    };
    let (units, accs, bufs) = hw.map(|h| h.areas(b)).unwrap_or_default();
    let translators = if hw.is_none() {
        pulse_translators(b)
    } else {
        0.0
    };
    let wg = GradientArea {
        total: (units + accs + bufs + translators) * mm2,
        units: units * mm2,
        accumulators: accs * mm2,
        buffers: bufs * mm2,
        pulse_translators: translators * mm2,
    };
    let inference = b.plan.area.total() * mm2;
    TrainingChipReport {
        rule,
        area_mm2: TrainingChipArea {
            total: inference + tr.total + feedback + wg.total,
            inference_chip: inference,
            transposed_read: tr,
            feedback_arrays: feedback,
            weight_gradient: wg,
        },
        wg_units: hw.map_or(0, |h| h.units.len()),
        wg_arrays: hw.map_or(0, |h| {
            h.units
                .iter()
                .map(|u| match u {
                    Unit::Cim { cim, .. } => cim.arrays(),
                    Unit::Digital(_) => 0,
                })
                .sum()
        }),
        gradient_buffer_bits: hw.map_or(0.0, |h| h.buffer_bits.iter().sum()),
    }
}
