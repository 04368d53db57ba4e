//! The calibrating read on the device (`Backend::xbar_calibrate_read`): the read's data-column
//! partial sums are counted level by level in histograms (`read_histogram` in
//! `shaders/xbar_read.wgsl`, one pass over the read per level), `backend::calibration` narrows
//! the percentile ranks down from the counts read back (a few thousand words per instance and
//! level), the ranges are set, and the read runs through them. The sums are the reference's,
//! term for term in line order, so the ranges are the host calibration's: exact ranks below
//! `percentile::EXACT_LIMIT` sums (three levels give the value's f32 bits), else the middle of
//! the rank's bin (two levels).

use super::create::set_adc;
use super::host::Host;
use super::read::{dispatch_read, read};
use crate::backend::calibration::{
    calibrated_range, calibration_ranks, percentile_levels, HistLevel, HIST_STRIDE,
};
use crate::backend::{Buf, MatView, XbarId, XbarRead};
use crate::xbar::direction::Direction;
use crate::xbar::geometry::geometry;
use crate::xbar::percentile;

pub(in crate::gpu) fn calibrate_read(
    be: &mut impl Host,
    id: XbarId,
    x: MatView,
    y: MatView,
    op: &XbarRead,
) {
    let levels = percentile_levels_of(be, id, x, y, op);
    let xb = &be.xbars()[id.0];
    let ranges: Vec<_> = xb
        .meta
        .iter()
        .zip(&levels)
        .map(|(l, lv)| {
            let mut r = [
                l.adc_range(Direction::Forward),
                l.adc_range(Direction::Transposed),
            ];
            if let Some(lv) = lv {
                r[(op.dir == Direction::Transposed) as usize] = Some(calibrated_range(*lv));
            }
            r
        })
        .collect();
    set_adc(be, id, &ranges);
    read(be, id, x, y, op);
}

/// The percentile levels of `op`'s read per instance (read counter 0): `Some(None)` where the
/// read has no data-column sums, `None` where the instance's inputs are out of range (its
/// range is kept).
fn percentile_levels_of(
    be: &mut impl Host,
    id: XbarId,
    x: MatView,
    y: MatView,
    op: &XbarRead,
) -> Vec<Option<Option<[f32; 2]>>> {
    let xb = &be.xbars()[id.0];
    let p = xb.n_inst();
    let l = &xb.meta[0];
    let n = data_conversions(&geometry(l, op.dir, &xb.cfg), l.sets(), op);
    let ranks = calibration_ranks(n, xb.cfg.array.adc_percentile);
    let hist = xb.hist;
    let inv_units = inv_units(be, id);
    let hist = match hist {
        Some(h) => h,
        None => {
            let h = be.alloc_u32(p * HIST_STRIDE);
            be.xbars()[id.0].hist = Some(h);
            h
        }
    };
    let cal = XbarRead {
        read_counter: 0,
        ..*op
    };
    let mut count =
        |levels: &[HistLevel]| count_level(be, id, (x, y), &cal, hist, levels, &inv_units);
    let found = if n == 0 {
        // Still one pass, for the input ranges.
        count(&vec![HistLevel::Coarse; p]);
        vec![None; p]
    } else {
        percentile_levels(p, ranks, n <= percentile::EXACT_LIMIT, count)
    };
    let xmax = be.xbars()[id.0].xmax;
    let ranges = be.read(xmax);
    found
        .into_iter()
        .zip(&ranges[..p])
        .map(|(f, r)| r.is_finite().then_some(f))
        .collect()
}

/// One histogram pass into a fresh buffer: the counts `[2][HIST_BINS]` per instance at
/// `levels` (`GpuBackend::xbar_histogram`).
pub(in crate::gpu) fn histogram(
    be: &mut impl Host,
    id: XbarId,
    xy: (MatView, MatView),
    op: &XbarRead,
    levels: &[HistLevel],
) -> Vec<Vec<u32>> {
    let hist = be.alloc_u32(levels.len() * HIST_STRIDE);
    let units = inv_units(be, id);
    count_level(be, id, xy, op, hist, levels, &units)
}

/// 1 / unit of every instance: levels are |I| / unit.
fn inv_units(be: &mut impl Host, id: XbarId) -> Vec<f32> {
    be.xbars()[id.0]
        .meta
        .iter()
        .map(|l| 1.0 / l.unit())
        .collect()
}

/// One histogram pass: the counts `[2][HIST_BINS]` per instance at `levels`.
fn count_level(
    be: &mut impl Host,
    id: XbarId,
    (x, y): (MatView, MatView),
    op: &XbarRead,
    hist: Buf,
    levels: &[HistLevel],
    inv_units: &[f32],
) -> Vec<Vec<u32>> {
    let mut words = vec![0u32; levels.len() * HIST_STRIDE];
    for ((w, l), &u) in words.chunks_mut(HIST_STRIDE).zip(levels).zip(inv_units) {
        w[..4].copy_from_slice(&l.header(u));
    }
    be.write_u32(hist, &words);
    dispatch_read(be, id, x, y, op, Some(hist));
    be.read_u32(hist)
        .chunks(HIST_STRIDE)
        .map(|w| w[4..].to_vec())
        .collect()
}

/// Data-column conversions of a read (`fast_read::Plan::data_conversions`): per sample, sign
/// pass, input cycle and non-empty pass, every slice of the data columns.
fn data_conversions(geo: &crate::xbar::geometry::Geometry, sets: usize, op: &XbarRead) -> u64 {
    let mut passes = 0u64;
    for g in 0..geo.n_groups {
        let g_end = ((g + 1) * geo.group).min(geo.lines);
        passes += (0..geo.n_pass)
            .filter(|p| g * geo.group + p * geo.pass < g_end)
            .count() as u64;
    }
    let signs = 1 + op.signed as u64;
    op.rows as u64 * signs * geo.cycles as u64 * passes * (sets * geo.outs * geo.slices) as u64
}
