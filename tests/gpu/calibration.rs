//! ADC calibration on the GPU against the host: the fused read's histogram pass
//! (`read_histogram`) against its CPU twin at every level, the calibrating read
//! (`Backend::xbar_calibrate_read`) against `CpuBackend`'s ranges and outputs, and an in-situ
//! conv network calibrated and trained on both.

use crate::common;
use crate::common::xbar as xcommon;

use common::gpu;
use insitu::backend::calibration::{calibration_ranks, level_histogram, HistLevel};
use insitu::backend::*;
use insitu::config::{AdcMode, Mapping, ReadNoiseModel};
use insitu::cpu::CpuBackend;
use insitu::gpu::tiles::ReadTile;
use insitu::xbar::adc_range::AdcRange;
use insitu::xbar::direction::Direction;
use insitu::xbar::mapping::map_weights;
use insitu::xbar::percentile;
use insitu::xbar::read::reference_levels;
use insitu::xbar::read_input::ReadInput;
use insitu::xbar::{Knobs, LayerCells, Xbar};
use xcommon::{ideal, quiet, values};

/// One layer setting: the array, every instance's knobs, the layer's shape.
struct Setting {
    name: &'static str,
    cfg: Xbar,
    knobs: Vec<Knobs>,
    k: usize,
    n: usize,
}

/// Awkward shapes and settings whose sums the GPU computes as the reference does: offset and
/// differential mapping, several slices, input cycles and passes, d2d, stuck cells and drift;
/// two instances with different knobs.
fn exact_settings() -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, (name, mapping, wb, cb, ib, db, k, n)) in [
        ("offset", Mapping::Offset, 6, 2, 5, 2, 150, 33),
        ("differential", Mapping::Differential, 5, 5, 4, 1, 37, 70),
        ("offset wide", Mapping::Offset, 4, 4, 6, 3, 300, 65),
    ]
    .into_iter()
    .enumerate()
    {
        let mut cfg = ideal(mapping, wb, cb, ib, db);
        cfg.array.adc_mode = AdcMode::Calibrated;
        cfg.array.adc_bits = 5;
        cfg.array.adc_bits_backward = 6;
        cfg.array.adc_percentile = [99.9, 97.0, 99.99][i];
        cfg.array.rows = 128;
        cfg.array.cols = 64;
        cfg.array.parallel_rows = [64, 128, 32][i];
        cfg.device.on_off = 20.0;
        if i == 2 {
            cfg.device.stuck_off = 0.03;
            cfg.device.stuck_on = 0.02;
            cfg.device.drift.nu = 0.05;
            cfg.device.drift.t = 1000.0;
        }
        let knobs = (0..2)
            .map(|q| Knobs {
                d2d: if i == 0 { 0.1 } else { 0.0 },
                ..quiet(60 + 2 * i as u64 + q)
            })
            .collect();
        out.push(Setting {
            name,
            cfg,
            knobs,
            k,
            n,
        });
    }
    out
}

fn layers(s: &Setting, seed: u64) -> Vec<LayerCells> {
    (0..s.knobs.len())
        .map(|q| {
            let w = values(s.n * s.k, seed + q as u64, -0.9, 0.9);
            map_weights(&w, s.n, s.k, None, &s.cfg, q as u32, 3)
        })
        .collect()
}

/// Inputs of `rows` vectors of `lines` per instance, with exact zeros (ReLU-like sums).
fn inputs(p: usize, rows: usize, lines: usize, seed: u64, signed: bool) -> Vec<f32> {
    let mut x = values(
        p * rows * lines,
        seed,
        if signed { -1.0 } else { -0.4 },
        1.0,
    );
    for i in (0..x.len()).step_by(7) {
        x[i] = 0.0;
    }
    x
}

fn dims(l: &LayerCells, dir: Direction) -> (usize, usize) {
    match dir {
        Direction::Forward => (l.fan_in, l.fan_out),
        Direction::Transposed => (l.fan_out, l.fan_in),
    }
}

/// Back-to-back `[P][rows][ld]` views of `x` and of an output.
fn put_views(
    be: &mut dyn Backend,
    x: &[f32],
    (p, rows, lines, outs): (usize, usize, usize, usize),
) -> (MatView, MatView) {
    let xb = be.alloc(x.len());
    be.write(xb, x);
    let yb = be.alloc(p * rows * outs);
    let view = |buf, ld: usize| MatView {
        buf,
        off: 0,
        ld: ld as u32,
        stride: (rows * ld) as u32,
    };
    (view(xb, lines), view(yb, outs))
}

/// The reference's data-column levels of instance `q`'s read (read counter 0).
#[allow(clippy::too_many_arguments)]
fn host_levels(
    s: &Setting,
    layer: &LayerCells,
    q: usize,
    dir: Direction,
    x: &[f32],
    rows: usize,
    lines: usize,
    signed: bool,
) -> Vec<f32> {
    let xin = &x[q * rows * lines..(q + 1) * rows * lines];
    let inp = ReadInput {
        x: xin,
        batch: rows,
        x_max: input_range(xin, signed),
        signed,
        read_counter: 0,
    };
    reference_levels(layer, dir, &inp, &s.cfg, &s.knobs[q])
}

/// The histogram pass counts, at every level, what its CPU twin counts of the reference's sums:
/// every coarse bin, then the fine and exact bins of targets taken from the sums (the bins of
/// the calibration ranks, the zeros' bin, and a target no sum has).
#[test]
fn histogram_pass_matches_its_cpu_twin() {
    let mut g = gpu();
    let tiles = [None, Some(ReadTile::Rows4), Some(ReadTile::Rows16)];
    for (si, s) in exact_settings().iter().enumerate() {
        let ls = layers(s, 70 + si as u64);
        let id = g.xbar_create(&s.cfg, ls.clone(), s.knobs.clone());
        for (dir, signed, rows) in [
            (Direction::Forward, false, 5),
            (Direction::Transposed, true, 3),
        ] {
            g.force_read_tile = tiles[(si + rows) % 3];
            let (lines, outs) = dims(&ls[0], dir);
            let x = inputs(2, rows, lines, 80 + si as u64, signed);
            let xy = put_views(&mut g, &x, (2, rows, lines, outs));
            let op = XbarRead {
                dir,
                signed,
                rows: rows as u32,
                read_counter: 0,
            };
            let host: Vec<Vec<f32>> = (0..2)
                .map(|q| host_levels(s, &ls[q], q, dir, &x, rows, lines, signed))
                .collect();
            let what = format!("{} {dir:?}", s.name);
            let targets = |v: &[f32]| {
                let ranks = calibration_ranks(v.len() as u64, s.cfg.array.adc_percentile);
                let mut sorted = v.to_vec();
                sorted.sort_by(f32::total_cmp);
                ranks.map(|r| sorted[r as usize - 1])
            };
            let picks: Vec<[f32; 2]> = host.iter().map(|v| targets(v)).collect();
            let coarse = |v: f32| v.to_bits().min(0x7f80_0000) >> 20;
            let bin = |v: f32| percentile::bin(v) as u32;
            let level_sets = [
                vec![HistLevel::Coarse; 2],
                picks
                    .iter()
                    .map(|p| HistLevel::Fine(p.map(coarse)))
                    .collect(),
                picks.iter().map(|p| HistLevel::Exact(p.map(bin))).collect(),
                vec![HistLevel::Fine([0, 0x7f8]), HistLevel::Exact([0, 12_345])],
            ];
            for (li, levels) in level_sets.iter().enumerate() {
                let got = g.xbar_histogram(id, xy, &op, levels);
                for q in 0..2 {
                    let want = level_histogram(&host[q], &levels[q]);
                    assert!(
                        li == 3 || want.iter().any(|&c| c > 0),
                        "{what}: nothing counted"
                    );
                    assert_eq!(got[q], want, "{what}: instance {q} at {:?}", levels[q]);
                }
            }
        }
    }
}

/// Per instance, the range `be` calibrates in `dir` on `x`, and the read's outputs.
#[allow(clippy::too_many_arguments)]
fn calibrate_on(
    be: &mut dyn Backend,
    s: &Setting,
    ls: &[LayerCells],
    dir: Direction,
    signed: bool,
    rows: usize,
    x: &[f32],
) -> (Vec<AdcRange>, Vec<f32>) {
    let p = ls.len();
    let id = be.xbar_create(&s.cfg, ls.to_vec(), s.knobs.clone());
    let (lines, outs) = dims(&ls[0], dir);
    let (xv, yv) = put_views(be, x, (p, rows, lines, outs));
    let op = XbarRead {
        dir,
        signed,
        rows: rows as u32,
        read_counter: 5,
    };
    be.xbar_calibrate_read(id, xv, yv, &op);
    let ranges = be
        .xbar_cells(id)
        .iter()
        .map(|l| l.adc_range(dir).expect("calibrated"))
        .collect();
    (ranges, be.read(yv.buf))
}

/// Noise-free reads calibrate to the host's ranges bit for bit (exact ranks: the sums are the
/// reference's on both), and read the same outputs through them.
#[test]
fn calibrated_ranges_equal_the_hosts() {
    let (mut g, mut c) = (gpu(), CpuBackend::new());
    for (si, s) in exact_settings().iter().enumerate() {
        let ls = layers(s, 90 + si as u64);
        for (dir, signed, rows) in [
            (Direction::Forward, false, 6),
            (Direction::Transposed, true, 4),
        ] {
            let (lines, _) = dims(&ls[0], dir);
            let x = inputs(2, rows, lines, 95 + si as u64, signed);
            let (rg, yg) = calibrate_on(&mut g, s, &ls, dir, signed, rows, &x);
            let (rc, yc) = calibrate_on(&mut c, s, &ls, dir, signed, rows, &x);
            let what = format!("{} {dir:?}", s.name);
            assert_eq!(rg, rc, "{what}: ranges");
            assert!(rc.iter().all(|r| r.hi > r.lo), "{what}: {rc:?}");
            // Equal codes; the GPU de-scales in f32, the host in f64.
            let err = common::max_rel_err(&yg, &yc);
            assert!(err <= 1e-5, "{what}: outputs differ by {err}");
        }
    }
}

/// With read noise (per cell or output-referred) the GPU draws the same noise up to the
/// rounding of its transcendental functions: the ranges agree within 1e-4.
#[test]
fn calibrated_ranges_with_read_noise_follow_the_hosts() {
    let (mut g, mut c) = (gpu(), CpuBackend::new());
    for (si, mut s) in exact_settings().into_iter().take(2).enumerate() {
        if si == 1 {
            s.cfg.device.read_noise_model = ReadNoiseModel::OutputReferred;
        }
        for k in &mut s.knobs {
            k.read_noise = 0.04;
        }
        let ls = layers(&s, 100 + si as u64);
        for (dir, signed, rows) in [
            (Direction::Forward, false, 6),
            (Direction::Transposed, true, 4),
        ] {
            let (lines, _) = dims(&ls[0], dir);
            let x = inputs(2, rows, lines, 105 + si as u64, signed);
            let (rg, _) = calibrate_on(&mut g, &s, &ls, dir, signed, rows, &x);
            let (rc, _) = calibrate_on(&mut c, &s, &ls, dir, signed, rows, &x);
            for (a, b) in rg.iter().zip(&rc) {
                let close = |u: f32, v: f32| (u - v).abs() <= 1e-4 * v.abs().max(1.0);
                assert!(
                    close(a.lo, b.lo) && close(a.hi, b.hi),
                    "{} {dir:?}: {a:?} vs {b:?}",
                    s.name
                );
            }
        }
    }
}

/// A read of more than `percentile::EXACT_LIMIT` sums (a conv layer's) calibrates to the
/// middle of the rank's bin of the reference's sums, as the host bins them. The host bins its
/// GEMM's sums, within a few ulps of the reference's: its range is that bin or, where a sum so
/// close to a bin edge decides the rank, the next.
#[test]
fn binned_ranges_equal_the_references_bins() {
    let mut s = exact_settings().remove(0);
    s.knobs.truncate(1);
    s.cfg.array.adc_percentile = 99.99;
    (s.cfg.array.input_bits, s.cfg.array.dac_bits) = (8, 1);
    let (k, n, rows) = (300, 62, 600);
    (s.k, s.n) = (k, n);
    let ls = layers(&s, 110);
    let x = inputs(1, rows, k, 111, false);
    let host = host_levels(&s, &ls[0], 0, Direction::Forward, &x, rows, k, false);
    assert!(
        host.len() as u64 > percentile::EXACT_LIMIT,
        "{} sums",
        host.len()
    );
    let mut full = vec![0u64; percentile::bins()];
    for &v in &host {
        full[percentile::bin(v)] += 1;
    }
    let ranks = calibration_ranks(host.len() as u64, 99.99);
    let want = ranks.map(|r| percentile::from_histogram(&full, r));
    let (mut g, mut c) = (gpu(), CpuBackend::new());
    let (rg, _) = calibrate_on(&mut g, &s, &ls, Direction::Forward, false, rows, &x);
    let (rc, _) = calibrate_on(&mut c, &s, &ls, Direction::Forward, false, rows, &x);
    assert_eq!([rg[0].lo, rg[0].hi], want);
    for (a, b) in [(rg[0].lo, rc[0].lo), (rg[0].hi, rc[0].hi)] {
        assert!((a - b).abs() <= a * 2f32.powi(-12), "{a} vs host {b}");
    }
    eprintln!("binned range: GPU {:?}, host {:?}", rg[0], rc[0]);
}

/// The in-situ conv network's calibration pass, run on the device, sets the host twin's ranges
/// on every layer (forward and transposed), and one epoch with recalibration every two steps
/// follows the CPU's loss.
#[test]
fn in_situ_conv_calibration_runs_on_the_device_as_on_the_host() {
    let cfg = common::xbar_cnn_config(
        "C5k3s2p0-C7-M-FC9-FC6",
        &[
            "train.batch_size=8",
            "train.epochs=1",
            "array.adc_recalibrate_steps=2",
        ],
    );
    let shape = [3, 11, 11];
    let s = insitu::data::Split {
        train: common::random_dataset(24, 10, shape, 6),
        test: common::random_dataset(24, 20, shape, 6),
        name: "random".into(),
    };
    let m = insitu::nn::model::Model::init(
        "C5k3s2p0-C7-M-FC9-FC6",
        shape,
        6,
        insitu::config::Init::He,
        5,
    )
    .unwrap();
    let mut runs = Vec::new();
    for on_gpu in [false, true] {
        let (mut gb, mut cb);
        let be: &mut dyn Backend = if on_gpu {
            gb = gpu();
            &mut gb
        } else {
            cb = CpuBackend::new();
            &mut cb
        };
        let h = insitu::train::trainer::hyper(&cfg, s.train.len());
        let mut t = insitu::train::trainer::Trainer::new(be, &m, h, &s, 1).unwrap();
        t.attach(&cfg, &s.train).unwrap();
        let ranges = |t: &mut insitu::train::trainer::Trainer| -> Vec<_> {
            let net = &t.net;
            let ids: Vec<XbarId> = net
                .layers
                .iter()
                .filter_map(|lb| match &lb.weights {
                    insitu::net::Weights::Xbar { id, .. } => Some(*id),
                    _ => None,
                })
                .collect();
            ids.iter()
                .map(|&id| {
                    let l = t.be.xbar_cells(id).remove(0);
                    [
                        l.adc_range(Direction::Forward),
                        l.adc_range(Direction::Transposed),
                    ]
                })
                .collect()
        };
        let start = ranges(&mut t);
        let bar = indicatif::ProgressBar::hidden();
        let (loss, _) = t.train_epoch(0, &bar);
        runs.push((start, loss, ranges(&mut t)));
    }
    let ((rc, lc, ec), (rg, lg, eg)) = (&runs[0], &runs[1]);
    assert_eq!(rg, rc, "ranges at the start");
    // Every forward read calibrated, and the transposed reads of BP's error (all but the first
    // layer's).
    assert!(rc.iter().all(|r| r[0].is_some()) && rc[1..].iter().all(|r| r[1].is_some()));
    assert!((lc - lg).abs() < 1e-2 * lc.abs(), "loss cpu {lc} gpu {lg}");
    // Recalibrated ranges follow the arrays, whose programming drifts apart by a few
    // stochastic roundings at a threshold (as with the host twin): calibrated where the CPU's
    // are.
    for (a, b) in eg.iter().zip(ec) {
        assert_eq!(a.map(|r| r.is_some()), b.map(|r| r.is_some()));
    }
}
