//! Crossbar layers resident on the GPU, and the backend's crossbar operations on them: the fused
//! read (`shaders/xbar_read.wgsl`), programming (`shaders/xbar_program.wgsl`) and the derived
//! effective conductances (`shaders/xbar_eff.wgsl`). They reproduce `backend::xbar::host_read` /
//! `host_program` (the reference physics of `crate::xbar`), including the activity counters.
//!
//! Storage per layer of P instances:
//! - `cells` `[P][total]`: data cells, then forward and transposed reference cells, i.e. the
//!   reference's cell-index space (`LayerCells::total_cells`);
//! - `frozen` `[P][total]` u32: the frozen d2d factor as f32 bits, or, sign bit set, the whole
//!   effective conductance of a stuck cell; drawn once here with the reference's keys;
//! - `eff_f` `[P][S][K][ncol_f]`, `eff_b` `[P][S][N][ncol_b]`: effective conductances per read
//!   direction, recomputed from `cells` after creation and after every programming step;
//! - `curves` `[P][data cells][CURVE_STRIDE]`: per-cell (a_ltp, a_ltd, up_down, g_min, g_max)
//!   of the update curve (`device::CellCurve`; one cell per weight only);
//! - `inst` `[P][INST_STRIDE]`: per-instance scalars and keys (table below);
//! - `state`: 64-bit counters as (lo, hi) u32 pairs at words 0..18, then a ring of
//!   [`RING`] per-call counters (read counter or programming step) from word 32;
//! - `xmax` `[P]`: the per-instance input range of the last read, then `[P][ABSMAX_PARTS]`
//!   partial maxima; `rowmax` `[P][K]`.
//!
//! The per-call counter goes through the ring instead of the parameter uniform so that the
//! uniforms and bind groups the backend caches by content stay bounded over a long run: each call
//! writes its counter into the next slot (`queue.write_buffer`, which lands before the next
//! submission) and names the slot in its parameters; the work recorded is flushed every [`RING`]
//! calls, so one submission never sees a slot twice.

use bytemuck::{Pod, Zeroable};

use super::backend::GpuBackend;
use super::shaders;
use crate::backend::{Backend, Buf, MatView, XbarActivity, XbarId, XbarRead};
use crate::config::{AdcMode, C2cLaw, Mapping, ReadNoiseModel, Rounding};
use crate::rng::Purpose;
use crate::xbar::adc::{Adc, AdcRange};
use crate::xbar::draws::{normal_at, stream_key, uniform_at};
use crate::xbar::mapping::{cell_curve, nominal_curve};
use crate::xbar::read::{geometry, Counters, Direction, Geometry};
use crate::xbar::{drift, minmax, Knobs, LayerCells, Xbar};

/// Words per instance in the `inst` table:
/// 0-1 ReadNoise key, 2-3 OutputNoise key, 4-5 Rounding key, 6-7 C2c key, 8 read_noise,
/// 9 output_noise, 10 c2c, 11 lr, 12 dw_1, 13 p_max, 14 g_min, 16 + 2 dir: 1 / (unit step),
/// 17 + 2 dir: step s / (M (2^bits - 1)) (raw to output units, times x_max), 20 + dir: the ADC
/// floor as a current (`xbar::adc`).
const INST_STRIDE: usize = 24;
/// Words per cell in the `curves` buffer.
const CURVE_STRIDE: usize = 5;
/// Slots of the per-call counter ring.
const RING: u32 = 64;
const RING_BASE: usize = 32;
/// Counter pairs: forward (active, conversions, clipped), transposed (same), write (pulses,
/// cells written, row-max sum).
const COUNTERS: usize = 9;
const _: () = assert!(2 * COUNTERS <= RING_BASE);
const COUNTER_FWD: u32 = 0;
const COUNTER_BWD: u32 = 3;
const COUNTER_WRITE: u32 = 6;
/// Read kernel: invocations per workgroup, input rows per workgroup and lines staged per chunk
/// (`WG`, `BR`, `CH` of `shaders/xbar_read.wgsl`).
const READ_WG: u32 = 64;
const READ_ROWS: u32 = 4;
const READ_CHUNK: usize = 256;
/// Workgroups per instance of the first input-range pass (`PARTS` of the shader).
const ABSMAX_PARTS: usize = 64;
/// Loop iterations one invocation of the read may take per dispatch (estimated by
/// [`step_cost`]). llvmpipe stops all loops of an invocation after 65,535 iterations in all,
/// without an error; half of that leaves a margin for the estimate.
const READ_LOOP_BUDGET: usize = 32_768;

/// One crossbar layer of P instances on the GPU.
pub struct GpuXbar {
    cfg: Xbar,
    /// The instances' metadata (shapes, scale, ADC ranges); cell vectors are left empty.
    meta: Vec<LayerCells>,
    total: usize,
    cells: Buf,
    frozen: Buf,
    curves: Buf,
    /// `[P][total]` frozen drift deviates (per-cell drift only; else one unused word).
    drift_z: Buf,
    eff_f: Buf,
    eff_b: Buf,
    inst: Buf,
    state: Buf,
    xmax: Buf,
    rowmax: Buf,
    /// `minmax` ADC: `[P][mm_tensors][2]` observed (min, max) per tensor of the current read.
    mm: Buf,
    mm_tensors: usize,
    /// Shift-add accumulators carried between the dispatches of one read, `carry_len` words.
    carry: Buf,
    carry_len: usize,
    /// Some instance draws per-cell read noise / per-conversion noise (costlier read steps).
    cell_draws: bool,
    conversion_draws: usize,
    ring_next: u32,
    vectors_forward: u64,
    vectors_transposed: u64,
    updates: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ReadParams {
    lines: u32,
    outs: u32,
    ncol: u32,
    group: u32,
    n_groups: u32,
    n_pass: u32,
    pass_len: u32,
    slices: u32,
    cycles: u32,
    dac_bits: u32,
    in_bits: u32,
    max_code: u32,
    cell_bits: u32,
    offset: u32,
    signed_in: u32,
    transposed: u32,
    batch: u32,
    slot: u32,
    x_off: u32,
    x_ld: u32,
    x_stride: u32,
    y_off: u32,
    y_ld: u32,
    y_stride: u32,
    n_inst: u32,
    n_data: u32,
    tile_outs: u32,
    fan_in: u32,
    fan_out: u32,
    r1: u32,
    r2: u32,
    counter_base: u32,
    sets: u32,
    /// Output-referred read noise (`read::output_referred`).
    noise_out: u32,
    /// 0: the ADC of `xbar::adc`; `minmax`: 1 observes every tensor's range, 2 converts.
    mm_phase: u32,
    /// `minmax` tensors per instance in the `mm` buffer.
    mm_tensors: u32,
    /// This dispatch's steps [step_lo, step_hi) of n_steps (see the shader).
    step_lo: u32,
    step_hi: u32,
    n_steps: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct EffParams {
    fan_in: u32,
    fan_out: u32,
    slices: u32,
    sets: u32,
    ncol_f: u32,
    ncol_b: u32,
    r1: u32,
    r2: u32,
    total: u32,
    n_inst: u32,
    nf: u32,
    nb: u32,
    drift: f32,
    nu: f32,
    nu_state: f32,
    nu_d2d: f32,
    ln_t: f32,
    g_min: f32,
    per_cell_drift: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ProgramParams {
    fan_in: u32,
    fan_out: u32,
    sets: u32,
    n_inst: u32,
    total: u32,
    slot: u32,
    stochastic: u32,
    max_pulses: u32,
    counter_base: u32,
    c2c_per_update: u32,
    set_only: u32,
    _pad: u32,
}

/// Workgroups for `count` items of a 256-wide 1-D kernel, folded into y beyond the x limit.
fn groups_1d(count: usize) -> [u32; 3] {
    let g = count.div_ceil(256).max(1) as u32;
    [g.min(65535), g.div_ceil(65535), 1]
}

/// Estimated loop iterations of one read invocation for one step with `n` lines: staging,
/// per-line sums (a 10-round Philox loop per per-cell draw), the ADC epilogue and its draws.
fn step_cost(n: usize, cell_draws: bool, conversion_draws: usize) -> usize {
    if n == 0 {
        return 1;
    }
    let rows = READ_ROWS as usize;
    let staging = n.div_ceil(READ_CHUNK) * (rows * READ_CHUNK / READ_WG as usize + 2);
    let per_line = 1 + rows * (1 + if cell_draws { 11 } else { 0 });
    staging + n * per_line + rows * (4 + 11 * conversion_draws) + 8
}

/// The step ranges [lo, hi) of the dispatches of one read (steps numbered as in the shader),
/// each within [`READ_LOOP_BUDGET`]. A pass with no lines ends its group, as in the shader.
fn step_ranges(geo: &Geometry, signs: usize, cell_draws: bool, draws: usize) -> Vec<(u32, u32)> {
    let per_pass = geo.slices * geo.cycles;
    let per_group = per_pass * geo.n_pass;
    let n_steps = signs * geo.n_groups * per_group;
    let mut ranges = Vec::new();
    let (mut start, mut cost, mut st) = (0, 0, 0);
    while st < n_steps {
        let pp = (st / per_pass) % geo.n_pass;
        let g = (st / per_group) % geo.n_groups;
        let lo = g * geo.group + pp * geo.pass;
        let hi = (lo + geo.pass).min(((g + 1) * geo.group).min(geo.lines));
        let c = step_cost(hi.saturating_sub(lo), cell_draws, draws);
        if cost + c > READ_LOOP_BUDGET && st > start {
            ranges.push((start as u32, st as u32));
            (start, cost) = (st, 0);
        }
        cost += c;
        st = if lo >= hi {
            (st / per_group + 1) * per_group
        } else {
            st + 1
        };
    }
    ranges.push((start as u32, n_steps as u32));
    ranges
}

fn per_cell_drift(cfg: &Xbar) -> bool {
    drift::active(&cfg.device.drift) && !drift::uniform(&cfg.device.drift)
}

/// The frozen drift deviate z of every cell of one instance (`Drift` draw), or none.
fn drift_deviates(layer: &LayerCells, cfg: &Xbar, knobs: &Knobs) -> Vec<f32> {
    if !per_cell_drift(cfg) {
        return Vec::new();
    }
    let key = stream_key(knobs.seed, Purpose::Drift, layer.instance, layer.layer);
    (0..layer.total_cells())
        .map(|idx| normal_at(key, [idx as u32, 0, 0, 0]))
        .collect()
}

fn u32_of(v: usize, what: &str) -> u32 {
    u32::try_from(v).unwrap_or_else(|_| panic!("{what} ({v}) exceeds u32"))
}

/// The frozen word of every cell of one instance (see the module doc), with the reference's
/// draws (`read::effective`).
fn frozen_words(layer: &LayerCells, cfg: &Xbar, knobs: &Knobs) -> Vec<u32> {
    let dev = &cfg.device;
    let z_drift = drift_deviates(layer, cfg, knobs);
    let (stuck_off, stuck_any) = (dev.stuck_off as f32, (dev.stuck_off + dev.stuck_on) as f32);
    let key_d2d = stream_key(knobs.seed, Purpose::D2d, layer.instance, layer.layer);
    let key_stuck = stream_key(knobs.seed, Purpose::Stuck, layer.instance, layer.layer);
    (0..layer.total_cells())
        .map(|idx| {
            let ctr = [idx as u32, 0, 0, 0];
            let mut stuck = None;
            if stuck_any > 0.0 {
                let u = uniform_at(key_stuck, ctr);
                if u < stuck_off {
                    stuck = Some(layer.g_min);
                } else if u < stuck_any {
                    stuck = Some(1.0);
                }
            }
            let factor = if knobs.d2d > 0.0 {
                Some((1.0 + knobs.d2d * normal_at(key_d2d, ctr)).max(0.0))
            } else {
                None
            };
            match stuck {
                Some(g) => {
                    let z = z_drift.get(idx).copied().unwrap_or(0.0);
                    let mut v = g * drift::factor(g, layer.g_min, z, &dev.drift);
                    if let Some(f) = factor {
                        v *= f;
                    }
                    v.to_bits() | 0x8000_0000
                }
                None => factor.unwrap_or(1.0).to_bits(),
            }
        })
        .collect()
}

fn instance_words(layer: &LayerCells, cfg: &Xbar, knobs: &Knobs) -> [u32; INST_STRIDE] {
    let mut w = [0u32; INST_STRIDE];
    let key = |p| stream_key(knobs.seed, p, layer.instance, layer.layer);
    for (i, p) in [
        Purpose::ReadNoise,
        Purpose::OutputNoise,
        Purpose::Rounding,
        Purpose::C2c,
    ]
    .into_iter()
    .enumerate()
    {
        let k = key(p);
        w[2 * i] = k[0];
        w[2 * i + 1] = k[1];
    }
    let base = nominal_curve(cfg, knobs);
    w[8] = drift::read_noise_at(knobs.read_noise, &cfg.device.drift).to_bits();
    w[9] = knobs.output_noise.to_bits();
    w[10] = knobs.c2c.to_bits();
    w[11] = knobs.lr.to_bits();
    w[12] = (2.0 * layer.scale / base.p_max).to_bits();
    w[13] = base.p_max.to_bits();
    w[14] = base.g_min.to_bits();
    adc_words(layer, cfg, &mut w);
    w
}

/// The ADC words of one instance (16..22, see [`INST_STRIDE`]).
fn adc_words(layer: &LayerCells, cfg: &Xbar, w: &mut [u32]) {
    for (d, dir) in [Direction::Forward, Direction::Transposed]
        .into_iter()
        .enumerate()
    {
        let geo = geometry(layer, dir, cfg);
        let adc = Adc::new(layer, dir, cfg);
        let qmax = ((1u64 << geo.in_bits) - 1) as f64;
        // Raw is step x codes, or for `minmax` drift_gain / unit x the summed currents.
        let per_raw = if cfg.array.adc_mode == AdcMode::MinMax {
            layer.drift_gain as f64 / layer.unit() as f64
        } else {
            adc.step as f64
        };
        let y_scale = per_raw * layer.scale as f64 / (layer.max_code() as f64 * qmax);
        w[16 + 2 * d] = adc.inv_lsb.to_bits();
        w[17 + 2 * d] = (y_scale as f32).to_bits();
        w[20 + d] = adc.floor_i.to_bits();
    }
}

/// Sets the calibrated ADC ranges of every instance and rewrites their ADC words.
pub(super) fn set_adc(be: &mut GpuBackend, id: XbarId, ranges: &[[Option<AdcRange>; 2]]) {
    let buf = be.gpu_xbars[id.0].inst;
    let mut inst = be.read_u32(buf);
    let xb = &mut be.gpu_xbars[id.0];
    for (p, (l, r)) in xb.meta.iter_mut().zip(ranges).enumerate() {
        l.set_adc_range(Direction::Forward, r[0]);
        l.set_adc_range(Direction::Transposed, r[1]);
        adc_words(
            l,
            &xb.cfg,
            &mut inst[p * INST_STRIDE..(p + 1) * INST_STRIDE],
        );
    }
    be.write_u32(buf, &inst);
}

impl GpuXbar {
    fn sets(&self) -> usize {
        self.meta[0].sets()
    }

    fn n_inst(&self) -> usize {
        self.meta.len()
    }
}

/// Next ring slot, with `counter` written into it.
fn ring_slot(be: &mut GpuBackend, id: XbarId, counter: u32) -> u32 {
    let x = &mut be.gpu_xbars[id.0];
    let slot = x.ring_next % RING;
    x.ring_next = x.ring_next.wrapping_add(1);
    let state = x.state;
    if slot == 0 {
        // Work recorded with earlier uses of the slots must see their values: submit it first.
        be.flush();
    }
    let buf = be.raw_buffer(state);
    be.ctx.queue.write_buffer(
        buf,
        ((RING_BASE + slot as usize) * 4) as u64,
        bytemuck::bytes_of(&counter),
    );
    slot
}

/// Records the recomputation of the effective conductances.
fn update_eff(be: &mut GpuBackend, id: XbarId) {
    let x = &be.gpu_xbars[id.0];
    let l = &x.meta[0];
    let (kk, n, s, sets) = (l.fan_in, l.fan_out, l.slices, l.sets());
    let refs = if l.mapping == Mapping::Offset { 2 } else { 0 };
    let (ncol_f, ncol_b) = (sets * n + refs, sets * kk + refs);
    let p = x.n_inst();
    let d = &x.cfg.device.drift;
    let nf = p * s * kk * ncol_f;
    let nb = p * s * n * ncol_b;
    let prm = EffParams {
        fan_in: kk as u32,
        fan_out: n as u32,
        slices: s as u32,
        sets: sets as u32,
        ncol_f: ncol_f as u32,
        ncol_b: ncol_b as u32,
        r1: (sets * n * kk * s) as u32,
        r2: (sets * n * kk * s + refs * kk * s) as u32,
        total: x.total as u32,
        n_inst: p as u32,
        nf: u32_of(nf, "forward effective conductances"),
        nb: u32_of(nb, "transposed effective conductances"),
        drift: drift::global_factor(d),
        nu: d.nu as f32,
        nu_state: d.nu_state as f32,
        nu_d2d: d.nu_d2d as f32,
        ln_t: drift::ln_t(d),
        g_min: l.g_min,
        per_cell_drift: per_cell_drift(&x.cfg) as u32,
        _pad: 0,
    };
    u32_of(nf + nb, "effective conductances");
    let bufs = [x.cells, x.frozen, x.eff_f, x.eff_b, x.drift_z];
    be.dispatch(&shaders::XBAR_EFF, &[], &prm, &bufs, groups_1d(nf + nb));
}

pub(super) fn create(
    be: &mut GpuBackend,
    cfg: &Xbar,
    layers: Vec<LayerCells>,
    knobs: Vec<Knobs>,
) -> XbarId {
    assert!(!layers.is_empty(), "a crossbar layer needs an instance");
    assert_eq!(layers.len(), knobs.len(), "one knobs per instance");
    let l0 = &layers[0];
    for l in &layers {
        assert!(
            l.fan_in == l0.fan_in
                && l.fan_out == l0.fan_out
                && l.slices == l0.slices
                && l.cell_bits == l0.cell_bits
                && l.weight_bits == l0.weight_bits
                && l.mapping == l0.mapping,
            "instances of a crossbar layer must have equal shapes"
        );
    }
    let mut layers = layers;
    for (l, k) in layers.iter_mut().zip(&knobs) {
        drift::calibrate_gain(l, cfg, k);
    }
    let l0 = &layers[0];
    let p = layers.len();
    let total = l0.total_cells();
    let n_data = l0.cells.len();
    let mut cells = Vec::with_capacity(p * total);
    let mut frozen = Vec::with_capacity(p * total);
    let mut inst = Vec::with_capacity(p * INST_STRIDE);
    let programmable = l0.slices == 1;
    let mut curves = Vec::with_capacity(if programmable {
        p * n_data * CURVE_STRIDE
    } else {
        1
    });
    let mut drift_z = Vec::new();
    for (l, k) in layers.iter().zip(&knobs) {
        drift_z.extend(drift_deviates(l, cfg, k));
        cells.extend_from_slice(&l.cells);
        cells.extend_from_slice(&l.ref_fwd);
        cells.extend_from_slice(&l.ref_bwd);
        frozen.extend(frozen_words(l, cfg, k));
        inst.extend_from_slice(&instance_words(l, cfg, k));
        if programmable {
            let base = nominal_curve(cfg, k);
            let key_nl = stream_key(k.seed, Purpose::NlD2d, l.instance, l.layer);
            for idx in 0..n_data {
                let c = cell_curve(&base, k, key_nl, idx);
                curves.extend_from_slice(&[c.a_ltp, c.a_ltd, c.up_down, c.g_min, c.g_max]);
            }
        }
    }
    if curves.is_empty() {
        curves.push(0.0);
    }
    if drift_z.is_empty() {
        drift_z.push(0.0);
    }
    let (kk, n, s, sets) = (l0.fan_in, l0.fan_out, l0.slices, l0.sets());
    let refs = if l0.mapping == Mapping::Offset { 2 } else { 0 };
    let eff_f_len = p * s * kk * (sets * n + refs);
    let eff_b_len = p * s * n * (sets * kk + refs);
    u32_of(p * total, "cells of all instances");

    let cells_buf = be.alloc(cells.len());
    be.write(cells_buf, &cells);
    let frozen_buf = be.alloc_u32(frozen.len());
    be.write_u32(frozen_buf, &frozen);
    let curves_buf = be.alloc(curves.len());
    be.write(curves_buf, &curves);
    let drift_z_buf = be.alloc(drift_z.len());
    be.write(drift_z_buf, &drift_z);
    let inst_buf = be.alloc_u32(inst.len());
    be.write_u32(inst_buf, &inst);
    let eff_f = be.alloc(eff_f_len);
    let eff_b = be.alloc(eff_b_len);
    let state = be.alloc_u32(RING_BASE + RING as usize);
    let xmax = be.alloc(p * (1 + ABSMAX_PARTS));
    let rowmax = be.alloc_u32(p * kk);
    // Tensors of the larger of the two directions' signed reads (`xbar::minmax`).
    let mm_tensors = if cfg.array.adc_mode == AdcMode::MinMax {
        [Direction::Forward, Direction::Transposed]
            .into_iter()
            .map(|d| minmax::tensors(&geometry(l0, d, cfg), 2))
            .max()
            .unwrap_or(1)
    } else {
        1
    };
    let mm = be.alloc_u32(2 * p * mm_tensors);
    let carry = be.alloc_u32(1);
    let output_referred = cfg.device.read_noise_model == ReadNoiseModel::OutputReferred;
    let read_noise = knobs.iter().any(|k| k.read_noise > 0.0);
    let cell_draws = read_noise && !output_referred;
    let conversion_draws = (read_noise && output_referred) as usize
        + knobs.iter().any(|k| k.output_noise > 0.0) as usize;

    let meta = layers
        .into_iter()
        .map(|mut l| {
            l.cells = Vec::new();
            l.ref_fwd = Vec::new();
            l.ref_bwd = Vec::new();
            l
        })
        .collect();
    be.gpu_xbars.push(GpuXbar {
        cfg: cfg.clone(),
        meta,
        total,
        cells: cells_buf,
        frozen: frozen_buf,
        curves: curves_buf,
        drift_z: drift_z_buf,
        eff_f,
        eff_b,
        inst: inst_buf,
        state,
        xmax,
        rowmax,
        mm,
        mm_tensors,
        carry,
        carry_len: 1,
        cell_draws,
        conversion_draws,
        ring_next: 0,
        vectors_forward: 0,
        vectors_transposed: 0,
        updates: 0,
    });
    let id = XbarId(be.gpu_xbars.len() - 1);
    update_eff(be, id);
    id
}

pub(super) fn read(be: &mut GpuBackend, id: XbarId, x: MatView, y: MatView, op: &XbarRead) {
    assert_ne!(
        x.buf, y.buf,
        "crossbar read: input and output must be different buffers"
    );
    let slot = ring_slot(be, id, op.read_counter);
    let xb = &be.gpu_xbars[id.0];
    let l = &xb.meta[0];
    let cfg = &xb.cfg;
    let geo = geometry(l, op.dir, cfg);
    let sets = l.sets();
    let offset = l.mapping == Mapping::Offset;
    let tile_outs = if offset { READ_WG - 2 } else { READ_WG / 2 };
    let transposed = op.dir == Direction::Transposed;
    let data_cells = sets * l.fan_out * l.fan_in * l.slices;
    let refs_fwd = if offset { 2 * l.fan_in * l.slices } else { 0 };
    let prm = ReadParams {
        lines: geo.lines as u32,
        outs: geo.outs as u32,
        ncol: geo.ncol as u32,
        group: geo.group as u32,
        n_groups: geo.n_groups as u32,
        n_pass: geo.n_pass as u32,
        pass_len: geo.pass as u32,
        slices: geo.slices as u32,
        cycles: geo.cycles as u32,
        dac_bits: geo.dac_bits,
        in_bits: geo.in_bits,
        max_code: ((1u64 << geo.adc_bits) - 1) as u32,
        cell_bits: l.cell_bits,
        offset: offset as u32,
        signed_in: op.signed as u32,
        transposed: transposed as u32,
        batch: op.rows,
        slot,
        x_off: x.off,
        x_ld: x.ld,
        x_stride: x.stride,
        y_off: y.off,
        y_ld: y.ld,
        y_stride: y.stride,
        n_inst: xb.n_inst() as u32,
        n_data: (sets * geo.outs) as u32,
        tile_outs,
        fan_in: l.fan_in as u32,
        fan_out: l.fan_out as u32,
        r1: data_cells as u32,
        r2: (data_cells + refs_fwd) as u32,
        counter_base: if transposed { COUNTER_BWD } else { COUNTER_FWD },
        sets: sets as u32,
        noise_out: (cfg.device.read_noise_model == ReadNoiseModel::OutputReferred) as u32,
        mm_phase: 0,
        mm_tensors: xb.mm_tensors as u32,
        step_lo: 0,
        step_hi: 0,
        n_steps: 0,
        _pad: 0,
    };
    let p = xb.n_inst() as u32;
    let eff = if transposed { xb.eff_b } else { xb.eff_f };
    let minmax = cfg.array.adc_mode == AdcMode::MinMax;
    let mm_words = 2 * xb.n_inst() * xb.mm_tensors;
    let signs = 1 + op.signed as usize;
    let ranges = step_ranges(&geo, signs, xb.cell_draws, xb.conversion_draws);
    let n_steps = ranges.last().map_or(0, |r| r.1);
    let carry_need = if ranges.len() > 1 {
        2 * xb.n_inst() * op.rows as usize * geo.outs
    } else {
        0
    };
    u32_of(carry_need, "crossbar read accumulators");
    if carry_need > xb.carry_len {
        let carry = be.alloc_u32(carry_need);
        let xb = &mut be.gpu_xbars[id.0];
        (xb.carry, xb.carry_len) = (carry, carry_need);
    }
    let xb = &be.gpu_xbars[id.0];
    let bufs = [
        xb.inst, xb.state, eff, x.buf, xb.xmax, y.buf, xb.mm, xb.carry,
    ];
    let tiles = (geo.outs as u32).div_ceil(tile_outs);
    let row_blocks = op.rows.div_ceil(READ_ROWS).max(1);
    assert!(
        row_blocks <= 65535 && p <= 65535,
        "crossbar read: too many rows or instances for one dispatch"
    );
    let parts = [ABSMAX_PARTS as u32, p, 1];
    be.dispatch(&shaders::XBAR_ABSMAX_PART, &[], &prm, &bufs, parts);
    be.dispatch(&shaders::XBAR_ABSMAX, &[], &prm, &bufs, [p, 1, 1]);
    if op.rows > 0 {
        let grid = [tiles, row_blocks, p];
        let phases: &[u32] = if minmax {
            // Empty the ranges, observe every tensor's [lo, hi], then convert.
            be.dispatch(
                &shaders::XBAR_MM_CLEAR,
                &[],
                &prm,
                &bufs,
                groups_1d(mm_words),
            );
            &[1, 2]
        } else {
            &[0]
        };
        for &mm_phase in phases {
            for &(step_lo, step_hi) in &ranges {
                let part = ReadParams {
                    mm_phase,
                    step_lo,
                    step_hi,
                    n_steps,
                    ..prm
                };
                be.dispatch(&shaders::XBAR_READ, &[], &part, &bufs, grid);
            }
        }
    }
    let xb = &mut be.gpu_xbars[id.0];
    let v = op.rows as u64 * p as u64;
    if transposed {
        xb.vectors_transposed += v;
    } else {
        xb.vectors_forward += v;
    }
}

pub(super) fn program(be: &mut GpuBackend, id: XbarId, grad: Buf, step: u32) {
    let xb = &be.gpu_xbars[id.0];
    xb.cfg
        .validate(true)
        .expect("crossbar settings were validated when the layer was created");
    assert_eq!(
        xb.meta[0].slices, 1,
        "programming needs one cell per weight"
    );
    let slot = ring_slot(be, id, step);
    let xb = &be.gpu_xbars[id.0];
    let l = &xb.meta[0];
    let p = xb.n_inst();
    let prm = ProgramParams {
        fan_in: l.fan_in as u32,
        fan_out: l.fan_out as u32,
        sets: xb.sets() as u32,
        n_inst: p as u32,
        total: xb.total as u32,
        slot,
        stochastic: (xb.cfg.device.rounding == Rounding::Stochastic) as u32,
        max_pulses: xb.cfg.device.max_pulses_per_update,
        counter_base: COUNTER_WRITE,
        c2c_per_update: (xb.cfg.device.c2c_law == C2cLaw::PerUpdate) as u32,
        set_only: xb.cfg.device.set_only as u32,
        _pad: 0,
    };
    let bufs = [xb.inst, grad, xb.curves, xb.cells, xb.state, xb.rowmax];
    let weights = p * l.fan_in * l.fan_out;
    let rows = p * l.fan_in;
    be.dispatch(&shaders::XBAR_PROGRAM, &[], &prm, &bufs, groups_1d(weights));
    be.dispatch(&shaders::XBAR_ROW_MAX, &[], &prm, &bufs, groups_1d(rows));
    update_eff(be, id);
    be.gpu_xbars[id.0].updates += 1;
}

pub(super) fn cells(be: &mut GpuBackend, id: XbarId) -> Vec<LayerCells> {
    let buf = be.gpu_xbars[id.0].cells;
    let all = be.read(buf);
    let xb = &be.gpu_xbars[id.0];
    xb.meta
        .iter()
        .enumerate()
        .map(|(p, m)| {
            let mut l = m.clone();
            let base = &all[p * xb.total..(p + 1) * xb.total];
            let (n_data, n_ref) = (
                m.sets() * m.fan_out * m.fan_in * m.slices,
                if m.mapping == Mapping::Offset {
                    2 * m.slices
                } else {
                    0
                },
            );
            let (r1, r2) = (n_data, n_data + n_ref * m.fan_in);
            l.cells = base[..r1].to_vec();
            l.ref_fwd = base[r1..r2].to_vec();
            l.ref_bwd = base[r2..].to_vec();
            l
        })
        .collect()
}

pub(super) fn activity(be: &mut GpuBackend, id: XbarId) -> XbarActivity {
    let buf = be.gpu_xbars[id.0].state;
    let s = be.read_u32(buf);
    let c = |i: usize| s[2 * i] as u64 | (s[2 * i + 1] as u64) << 32;
    let xb = &be.gpu_xbars[id.0];
    let counters = |b: usize| Counters {
        active_rows: c(b),
        adc_conversions: c(b + 1),
        adc_clipped: c(b + 2),
    };
    XbarActivity {
        vectors_forward: xb.vectors_forward,
        vectors_transposed: xb.vectors_transposed,
        forward: counters(COUNTER_FWD as usize),
        transposed: counters(COUNTER_BWD as usize),
        write_pulses: c(COUNTER_WRITE as usize),
        cells_written: c(COUNTER_WRITE as usize + 1),
        row_max_pulses: c(COUNTER_WRITE as usize + 2),
        updates: xb.updates,
    }
}
