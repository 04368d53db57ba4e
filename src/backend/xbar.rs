//! Crossbar operations on a backend: P instances of one layer's cells, read (forward or
//! transposed) and programmed in one call each.
//!
//! The host implementation here (`HostXbar::read`, `HostXbar::program`) runs the reference
//! physics of `crate::xbar` on rows the `Backend` trait's default methods copy from its
//! buffers; it is what `CpuBackend` uses. `GpuBackend` overrides these methods with
//! fused WGSL kernels that reproduce it (tests/gpu/xbar.rs).

use rayon::prelude::*;

use super::buf::Buf;
use crate::xbar::counters::Counters;
use crate::xbar::direction::Direction;
use crate::xbar::effective::EffCache;
use crate::xbar::fast_read;
use crate::xbar::program::{program, WriteCounters};
use crate::xbar::read::{calibrate_read_with, read_with};
use crate::xbar::read_input::ReadInput;
use crate::xbar::{Knobs, LayerCells, Xbar};

/// A crossbar layer created on a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XbarId(pub usize);

/// Per-instance row-major matrices in a buffer: element (p, r, c) at off + p*stride + r*ld + c.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatView {
    pub buf: Buf,
    pub off: u32,
    pub ld: u32,
    pub stride: u32,
}

/// One read of `rows` input vectors per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XbarRead {
    pub dir: Direction,
    /// Signed inputs are read as a positive and a negative pass.
    pub signed: bool,
    pub rows: u32,
    /// Keys the per-read noise draws; distinct per read of a run.
    pub read_counter: u32,
}

/// Activity of a layer since it was created, summed over instances (for the cost model).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct XbarActivity {
    /// Input vectors read, forward and transposed.
    pub vectors_forward: u64,
    pub vectors_transposed: u64,
    pub forward: Counters,
    pub transposed: Counters,
    /// Programming: pulses, cells written, and the sum over updates of per-row maximum pulses.
    pub write_pulses: u64,
    pub cells_written: u64,
    pub row_max_pulses: u64,
    pub updates: u64,
}

impl XbarActivity {
    fn zip(&self, o: &Self, f: impl Fn(u64, u64) -> u64) -> Self {
        let c = |a: &Counters, b: &Counters| Counters {
            active_rows: f(a.active_rows, b.active_rows),
            adc_conversions: f(a.adc_conversions, b.adc_conversions),
            adc_clipped: f(a.adc_clipped, b.adc_clipped),
        };
        XbarActivity {
            vectors_forward: f(self.vectors_forward, o.vectors_forward),
            vectors_transposed: f(self.vectors_transposed, o.vectors_transposed),
            forward: c(&self.forward, &o.forward),
            transposed: c(&self.transposed, &o.transposed),
            write_pulses: f(self.write_pulses, o.write_pulses),
            cells_written: f(self.cells_written, o.cells_written),
            row_max_pulses: f(self.row_max_pulses, o.row_max_pulses),
            updates: f(self.updates, o.updates),
        }
    }

    pub fn plus(&self, o: &Self) -> Self {
        self.zip(o, |a, b| a + b)
    }

    /// Activity of `self` not in `o` (an earlier snapshot).
    pub fn minus(&self, o: &Self) -> Self {
        self.zip(o, u64::saturating_sub)
    }
}

/// Host copy of a layer's P instances.
pub struct HostXbar {
    pub cfg: Xbar,
    pub layers: Vec<LayerCells>,
    pub knobs: Vec<Knobs>,
    pub activity: XbarActivity,
    /// Per instance: effective conductances kept between programming events (filled on
    /// first read; `host_program` invalidates them).
    pub cache: Vec<EffCache>,
}

/// The input range of one instance's rows: max |x| (signed) or max x, 1 when all are zero.
/// Dynamic per-batch scaling, as WAGE-style in-situ training quantizes activations and errors.
pub fn input_range(x: &[f32], signed: bool) -> f32 {
    let m = x
        .iter()
        .fold(0f32, |a, &v| a.max(if signed { v.abs() } else { v }));
    if m > 0.0 {
        m
    } else {
        1.0
    }
}

/// Instance `p`'s `rows` x `cols` block of `v`, borrowed when its rows lie back to back.
pub(super) fn gather_rows(
    all: &[f32],
    v: MatView,
    p: usize,
    rows: usize,
    cols: usize,
) -> std::borrow::Cow<'_, [f32]> {
    if v.ld as usize == cols || rows <= 1 {
        let s = v.off as usize + p * v.stride as usize;
        return std::borrow::Cow::Borrowed(&all[s..s + rows * cols]);
    }
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        let s = v.off as usize + p * v.stride as usize + r * v.ld as usize;
        out.extend_from_slice(&all[s..s + cols]);
    }
    std::borrow::Cow::Owned(out)
}

impl HostXbar {
    fn dims(&self, dir: Direction) -> (usize, usize) {
        let l = &self.layers[0];
        match dir {
            Direction::Forward => (l.fan_in, l.fan_out),
            Direction::Transposed => (l.fan_out, l.fan_in),
        }
    }

    /// Whether a read writes `y` as one instance's rows [0, rows) back to back: then its
    /// output is `y`'s prefix and `read` needs no copy of `y`.
    pub fn writes_prefix(&self, y: MatView, op: &XbarRead) -> bool {
        let n_out = self.dims(op.dir).1;
        self.layers.len() == 1 && y.off == 0 && y.ld as usize == n_out
    }

    /// Every instance's read of `xs` (viewed as `x`) into `ys` (viewed as `y`; with
    /// `writes_prefix`, `ys` starts empty and becomes the output); with `calibrate`, each
    /// instance first calibrates its ADC range on its inputs (`calibrate_read_with`). An
    /// instance whose inputs are out of range (a diverged instance) keeps its range and reads
    /// NaN.
    pub fn read(
        &mut self,
        xs: &[f32],
        x: MatView,
        ys: &mut Vec<f32>,
        y: MatView,
        op: &XbarRead,
        calibrate: bool,
    ) {
        let rows = op.rows as usize;
        let (k_in, n_out) = self.dims(op.dir);
        let direct = self.writes_prefix(y, op);
        self.cache.resize_with(self.layers.len(), EffCache::default);
        // Instances read in parallel (each read is parallel inside too); `None`: a diverged
        // instance (inputs overflowed).
        let cfg = &self.cfg;
        let reads: Vec<Option<(Vec<f32>, Counters)>> = (self.layers.par_iter_mut())
            .zip(self.knobs.par_iter())
            .zip(self.cache.par_iter_mut())
            .enumerate()
            .map(|(p, ((layer, knobs), cache))| {
                let xin = gather_rows(xs, x, p, rows, k_in);
                let range = input_range(&xin, op.signed);
                if !range.is_finite() {
                    return None;
                }
                let inp = ReadInput {
                    x: &xin,
                    batch: rows,
                    x_max: range,
                    signed: op.signed,
                    read_counter: op.read_counter,
                };
                let eff = cache.get(layer, op.dir, cfg, knobs);
                Some(if calibrate {
                    calibrate_read_with(layer, op.dir, &inp, cfg, knobs, eff)
                } else {
                    read_with(layer, op.dir, &inp, cfg, knobs, eff)
                })
            })
            .collect();
        for (p, read) in reads.into_iter().enumerate() {
            let Some((out, c)) = read else {
                // Its outputs are NaN, as on the GPU, and the run's divergence check stops it;
                // the other instances read on.
                if direct {
                    *ys = vec![f32::NAN; rows * n_out];
                }
                for r in 0..rows {
                    let s = y.off as usize + p * y.stride as usize + r * y.ld as usize;
                    ys[s..s + n_out].fill(f32::NAN);
                }
                continue;
            };
            if direct {
                *ys = out;
            } else {
                for r in 0..rows {
                    let s = y.off as usize + p * y.stride as usize + r * y.ld as usize;
                    ys[s..s + n_out].copy_from_slice(&out[r * n_out..(r + 1) * n_out]);
                }
                fast_read::recycle_output(out);
            }
            let a = &mut self.activity;
            let (vectors, total) = match op.dir {
                Direction::Forward => (&mut a.vectors_forward, &mut a.forward),
                Direction::Transposed => (&mut a.vectors_transposed, &mut a.transposed),
            };
            *vectors += rows as u64;
            *total += c;
        }
    }

    /// Programs every instance's cells from `g` ([P][out][in]), the step of
    /// [`Backend::xbar_program`](super::Backend::xbar_program).
    pub fn program(&mut self, g: &[f32], step: u32) {
        let n = self.layers[0].fan_in * self.layers[0].fan_out;
        self.cache.resize_with(self.layers.len(), EffCache::default);
        // Instances program in parallel: each draws from its own streams, so the cells are
        // those of one instance after another.
        let cfg = &self.cfg;
        let written: Vec<WriteCounters> = (self.layers.par_iter_mut())
            .zip(self.knobs.par_iter())
            .zip(self.cache.par_iter_mut())
            .zip(g.par_chunks(n.max(1)))
            .map(|(((layer, knobs), cache), grad)| {
                let w = program(layer, grad, cfg, knobs, step)
                    .expect("crossbar settings were validated when the layer was created");
                cache.invalidate();
                w
            })
            .collect();
        let a = &mut self.activity;
        for w in written {
            a.write_pulses += w.pulses;
            a.cells_written += w.cells_written;
            a.row_max_pulses += w.sum_row_max();
        }
        a.updates += 1;
    }
}
