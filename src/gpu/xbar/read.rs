//! The fused crossbar read (`shaders/xbar_read.wgsl`): input ranges, then the read split into
//! dispatches of bounded length; or the same steps counting the calibration histogram.

use super::create::ABSMAX_PARTS;
use super::host::Host;
use super::params::{groups_1d, u32_of, ReadParams};
use super::ring::ring_slot;
use crate::backend::{Buf, MatView, XbarId, XbarRead};
use crate::config::{AdcMode, Mapping, ReadNoiseModel};
use crate::gpu::shaders;
use crate::xbar::direction::Direction;
use crate::xbar::geometry::geometry;
use crate::xbar::param_table as table;

use super::split::{chunk_lines, StepWork, TILE_COLS};

pub(in crate::gpu) fn read(be: &mut impl Host, id: XbarId, x: MatView, y: MatView, op: &XbarRead) {
    dispatch_read(be, id, x, y, op, None);
}

/// The read of `op`, or with `hist` its histogram pass (`read_histogram`) counting into `hist`
/// (`[P][backend::calibration::HIST_STRIDE]`, header written): nothing written to `y`, no
/// activity counted.
pub(super) fn dispatch_read(
    be: &mut impl Host,
    id: XbarId,
    x: MatView,
    y: MatView,
    op: &XbarRead,
    hist: Option<Buf>,
) {
    assert_ne!(
        x.buf, y.buf,
        "crossbar read: input and output must be different buffers"
    );
    let slot = ring_slot(be, id, op.read_counter);
    let storage = be.workgroup_storage();
    let tile = be.read_tile(op.rows);
    let xb = &be.xbars()[id.0];
    let l = &xb.meta[0];
    let cfg = &xb.cfg;
    let geo = geometry(l, op.dir, cfg);
    let sets = l.sets();
    let offset = l.mapping == Mapping::Offset;
    let tile_outs = if offset { TILE_COLS - 2 } else { TILE_COLS / 2 };
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
        counter_base: (if transposed {
            table::COUNTER_BWD
        } else {
            table::COUNTER_FWD
        }) as u32,
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
    let minmax = cfg.array.adc_mode == AdcMode::MinMax && hist.is_none();
    let mm_words = 2 * xb.n_inst() * xb.mm_tensors;
    let signs = 1 + op.signed as usize;
    let ch = chunk_lines(geo.pass, storage);
    let work = StepWork {
        ch: ch as usize,
        tile_rows: tile.rows() as usize,
        cell_draws: xb.cell_draws,
        conversion_draws: xb.conversion_draws,
    };
    let ranges = work.ranges(&geo, signs);
    let n_steps = ranges.last().map_or(0, |r| r.1);
    let carry_need = if ranges.len() > 1 && hist.is_none() {
        2 * xb.n_inst() * op.rows as usize * geo.outs
    } else {
        0
    };
    u32_of(carry_need, "crossbar read accumulators");
    if carry_need > xb.carry_len {
        let carry = be.alloc_u32(carry_need);
        let xb = &mut be.xbars()[id.0];
        (xb.carry, xb.carry_len) = (carry, carry_need);
    }
    let xb = &be.xbars()[id.0];
    let bufs = [
        xb.inst,
        xb.state,
        eff,
        x.buf,
        xb.xmax,
        y.buf,
        hist.unwrap_or(xb.mm),
        xb.carry,
    ];
    let kernel = if hist.is_some() {
        &shaders::XBAR_HISTOGRAM
    } else {
        &shaders::XBAR_READ
    };
    let tiles = (geo.outs as u32).div_ceil(tile_outs);
    let row_blocks = op.rows.div_ceil(tile.rows()).max(1);
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
        let constants = [("CH", ch as f64), ("BR", tile.block_rows() as f64)];
        for &mm_phase in phases {
            for &(step_lo, step_hi) in &ranges {
                let part = ReadParams {
                    mm_phase,
                    step_lo,
                    step_hi,
                    n_steps,
                    ..prm
                };
                be.dispatch(kernel, &constants, &part, &bufs, grid);
            }
        }
    }
    if hist.is_some() {
        return;
    }
    let xb = &mut be.xbars()[id.0];
    let v = op.rows as u64 * p as u64;
    if transposed {
        xb.vectors_transposed += v;
    } else {
        xb.vectors_forward += v;
    }
}
