//! ADC calibration from one read: the (100 - p) and p percentiles of the data columns' partial
//! sums set the `calibrated` range. The fast path collects the sums from its GEMM (exact ranks
//! recomputed in the reference order, or a histogram for large reads); the reference sorts
//! every sum of the plain loop. `calibrate_read_with` calibrates and reads through the new range
//! on the same GEMM products.

use super::super::adc_range::{percentile_range, AdcRange};
use super::super::counters::Counters;
use super::super::direction::Direction;
use super::super::fast_read::{Plan, Seen};
use super::super::knobs::Knobs;
use super::super::mapping::LayerCells;
use super::super::percentile;
use super::super::read_input::ReadInput;
use super::reference::read_core;
use super::{checked_plan, packed, read_with, scaled};
use crate::config::Xbar;

/// Sets the `calibrated` ADC range of `dir` from a calibration batch: the (100 - p) and p
/// percentiles (p = `adc_percentile`) of |I| (levels) over all data-column conversions
/// (`adc_range::percentile_range`). Returns the range's top.
/// Exact up to `percentile::EXACT_LIMIT` conversions, within a relative 2^-13 above (see there).
pub fn calibrate(
    layer: &mut LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> f32 {
    let eff = packed(layer, dir, cfg, knobs);
    calibrate_with(layer, dir, inp, cfg, knobs, &eff)
}

/// `calibrate` with the effective conductances `eff`.
pub fn calibrate_with(
    layer: &mut LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
    eff: &[f32],
) -> f32 {
    let plan = checked_plan(layer, dir, inp, cfg, knobs, eff);
    let range = match plan {
        Some(plan) => {
            let mut seen = Seen::default();
            if plan.data_conversions(inp.batch) > percentile::EXACT_LIMIT {
                seen.hist = vec![0; percentile::bins()];
            }
            plan.run(inp.batch, Some(&mut seen));
            range_of(&plan, &seen, cfg.array.adc_percentile)
        }
        None => calibration_range_reference(layer, dir, inp, cfg, knobs),
    };
    layer.set_adc_range(dir, Some(range));
    range.hi
}

/// Calibrates `dir` of `layer` on `inp` (with read counter 0, as the calibration reads of
/// training do) and reads `inp` through the calibrated range: the range and read of
/// `calibrate_with` then `read_with`, bit for bit. Where the read's products fit in memory and
/// carry no read noise, both come from one GEMM pass (`fast_read::calibrated_read`).
pub fn calibrate_read_with(
    layer: &mut LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
    eff: &[f32],
) -> (Vec<f32>, Counters) {
    // Without read noise the sums, and so the range, do not depend on the read counter.
    let kept = checked_plan(layer, dir, inp, cfg, knobs, eff)
        .filter(|plan| plan.keeps_products(inp.batch))
        .map(|plan| {
            let pct = cfg.array.adc_percentile;
            let products = plan.products(inp.batch);
            let n = plan.data_conversions(inp.batch) as usize;
            let ranks = [100.0 - pct, pct].map(|q| percentile::rank(q, n.max(1)) as u64);
            let range = match plan.binned_levels(&products, ranks) {
                Some([lo, hi]) => bounded(lo, hi),
                None => range_of(&plan, &plan.seen_in(&products, inp.batch), pct),
            };
            (range, products)
        });
    let Some((range, products)) = kept else {
        let cal = ReadInput {
            read_counter: 0,
            ..*inp
        };
        calibrate_with(layer, dir, &cal, cfg, knobs, eff);
        return read_with(layer, dir, inp, cfg, knobs, eff);
    };
    layer.set_adc_range(dir, Some(range));
    let plan = checked_plan(layer, dir, inp, cfg, knobs, eff)
        .expect("the conductances were checked by the calibration pass");
    let (raw, counters) = plan.run_on(inp.batch, &products);
    (scaled(layer, dir, inp, cfg, raw), counters)
}

/// The calibrated range from the data-column sums `seen` of `plan`'s read: the (100 - p) and
/// p percentiles (p = `pct`), as `adc_range::percentile_range` takes them.
fn range_of(plan: &Plan, seen: &Seen, pct: f64) -> AdcRange {
    let ranks = [100.0 - pct, pct];
    let [lo, hi] = if seen.count == 0 {
        None
    } else if seen.hist.is_empty() {
        let ids = &seen.ids;
        Some(ranks.map(|q| {
            let r = percentile::rank(q, seen.values.len());
            percentile::exact_rank(&seen.values, r, plan.relative_error(), |i| {
                plan.exact_level(ids[i])
            })
        }))
    } else {
        Some(ranks.map(|q| {
            let r = percentile::rank(q, seen.count as usize);
            percentile::from_histogram(&seen.hist, r as u64)
        }))
    }
    .unwrap_or([0.0, 1.0]);
    bounded(lo, hi)
}

/// The range of the percentile levels `lo`, `hi`, kept non-negative with a positive top.
fn bounded(lo: f32, hi: f32) -> AdcRange {
    AdcRange {
        lo: lo.max(0.0),
        hi: hi.max(f32::MIN_POSITIVE),
    }
}

/// The reference calibration range (the oracle): the (100 - p) and p percentiles of every
/// data-column |I| of the reference loop, by sorting (`adc_range::percentile_range`).
pub fn calibration_range_reference(
    layer: &LayerCells,
    dir: Direction,
    inp: &ReadInput,
    cfg: &Xbar,
    knobs: &Knobs,
) -> AdcRange {
    let mut seen = Vec::new();
    read_core(layer, dir, inp, cfg, knobs, Some(&mut seen));
    percentile_range(&mut seen, cfg.array.adc_percentile).unwrap_or(AdcRange { lo: 0.0, hi: 1.0 })
}
