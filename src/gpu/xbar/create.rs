//! Creating a crossbar layer on the GPU, setting its calibrated ADC ranges, and reading back
//! its cells and activity counters.

use super::eff::update_eff;
use super::host::Host;
use super::layer::GpuXbar;
use super::params::u32_of;
use super::words::{adc_words, drift_deviates, frozen_words, instance_words};
use crate::backend::{XbarActivity, XbarId};
use crate::config::{AdcMode, Mapping, ReadNoiseModel};
use crate::rng::Purpose;
use crate::xbar::adc_range::AdcRange;
use crate::xbar::counters::Counters;
use crate::xbar::direction::Direction;
use crate::xbar::draws::stream_key;
use crate::xbar::geometry::geometry;
use crate::xbar::mapping::{cell_curve, nominal_curve};
use crate::xbar::param_table::{self as table, INST_STRIDE, RING_BASE};
use crate::xbar::{drift_compensation, minmax, Knobs, LayerCells, Xbar};

/// Workgroups per instance of the first input-range pass (`PARTS` of `shaders/xbar_absmax.wgsl`).
pub(super) const ABSMAX_PARTS: usize = 64;

pub(in crate::gpu) fn create(
    be: &mut impl Host,
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
        drift_compensation::calibrate_gain(l, cfg, k);
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
        p * n_data * table::CURVE_STRIDE
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
    let state = be.alloc_u32(RING_BASE + table::RING);
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
    be.xbars().push(GpuXbar {
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
        hist: None,
        cell_draws,
        conversion_draws,
        ring_next: 0,
        vectors_forward: 0,
        vectors_transposed: 0,
        updates: 0,
    });
    let id = XbarId(be.xbars().len() - 1);
    update_eff(be, id);
    id
}

/// Sets the calibrated ADC ranges of every instance and rewrites their ADC words.
pub(in crate::gpu) fn set_adc(be: &mut impl Host, id: XbarId, ranges: &[[Option<AdcRange>; 2]]) {
    let buf = be.xbars()[id.0].inst;
    let mut inst = be.read_u32(buf);
    let xb = &mut be.xbars()[id.0];
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

pub(in crate::gpu) fn cells(be: &mut impl Host, id: XbarId) -> Vec<LayerCells> {
    let buf = be.xbars()[id.0].cells;
    let all = be.read(buf);
    let xb = &be.xbars()[id.0];
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

pub(in crate::gpu) fn activity(be: &mut impl Host, id: XbarId) -> XbarActivity {
    let buf = be.xbars()[id.0].state;
    let s = be.read_u32(buf);
    let c = |i: usize| s[2 * i] as u64 | (s[2 * i + 1] as u64) << 32;
    let xb = &be.xbars()[id.0];
    let counters = |b: usize| Counters {
        active_rows: c(b),
        adc_conversions: c(b + 1),
        adc_clipped: c(b + 2),
    };
    XbarActivity {
        vectors_forward: xb.vectors_forward,
        vectors_transposed: xb.vectors_transposed,
        forward: counters(table::COUNTER_FWD),
        transposed: counters(table::COUNTER_BWD),
        write_pulses: c(table::COUNTER_WRITE),
        cells_written: c(table::COUNTER_WRITE + 1),
        row_max_pulses: c(table::COUNTER_WRITE + 2),
        updates: xb.updates,
    }
}
