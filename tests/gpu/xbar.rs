//! The GPU crossbar kernels against the host reference (`CpuBackend`), through the `Backend`
//! crossbar methods: reads (ideal: exact integers; noisy: within one ADC LSB at rounding
//! boundaries), programming (conductances within 1e-5, write counters exact), activity counters
//! and the population axis.

use crate::common;
use crate::common::xbar as xcommon;

use common::gpu;
use insitu::backend::*;
use insitu::config::{AdcMode, C2cLaw, Mapping, ReadNoiseModel, Rounding};
use insitu::cpu::CpuBackend;
use insitu::gpu::tiles::ReadTile;
use insitu::xbar::adc::adc_step;
use insitu::xbar::direction::Direction;
use insitu::xbar::geometry::{descale, geometry};
use insitu::xbar::mapping::{map_for_training, map_weights};
use insitu::xbar::read::read_raw;
use insitu::xbar::read_input::ReadInput;
use insitu::xbar::{calibrate, Knobs, LayerCells, Xbar};
use xcommon::{ideal, quiet, values};

/// The read tile of the `i`-th case: the size's own choice, then each tile pinned in turn,
/// so that every tile meets several shapes, batch sizes and settings.
fn tile_of(i: usize) -> Option<ReadTile> {
    [
        None,
        Some(ReadTile::Rows4),
        Some(ReadTile::Rows8),
        Some(ReadTile::Rows16),
    ][i % 4]
}

/// Input layout of a read: rows of `lines` with padding, instances apart.
struct Views {
    x: MatView,
    y: MatView,
    x_len: usize,
    y_len: usize,
}

fn views(be: &mut dyn Backend, p: usize, rows: usize, lines: usize, outs: usize) -> Views {
    let (x_ld, y_ld) = (lines + 3, outs + 1);
    let x_stride = rows * x_ld + 5;
    let y_stride = rows * y_ld + 2;
    let x_len = 7 + p * x_stride;
    let y_len = 1 + p * y_stride;
    let x = MatView {
        buf: be.alloc(x_len),
        off: 7,
        ld: x_ld as u32,
        stride: x_stride as u32,
    };
    let y = MatView {
        buf: be.alloc(y_len),
        off: 1,
        ld: y_ld as u32,
        stride: y_stride as u32,
    };
    Views { x, y, x_len, y_len }
}

/// Runs one read on a backend: returns the outputs [p][rows][outs] and the activity.
#[allow(clippy::too_many_arguments)]
fn run_read(
    be: &mut dyn Backend,
    cfg: &Xbar,
    layers: &[LayerCells],
    knobs: &[Knobs],
    op: &XbarRead,
    xdata: &[f32],
) -> (Vec<f32>, XbarActivity) {
    let id = be.xbar_create(cfg, layers.to_vec(), knobs.to_vec());
    let (y, act) = read_on(be, id, layers, op, xdata);
    (y, act)
}

fn dims(l: &LayerCells, dir: Direction) -> (usize, usize) {
    match dir {
        Direction::Forward => (l.fan_in, l.fan_out),
        Direction::Transposed => (l.fan_out, l.fan_in),
    }
}

/// Reads `xdata` ([p][rows][lines], dense) through padded views on an existing layer.
fn read_on(
    be: &mut dyn Backend,
    id: XbarId,
    layers: &[LayerCells],
    op: &XbarRead,
    xdata: &[f32],
) -> (Vec<f32>, XbarActivity) {
    let p = layers.len();
    let rows = op.rows as usize;
    let (lines, outs) = dims(&layers[0], op.dir);
    let v = views(be, p, rows, lines, outs);
    let mut xs = vec![f32::NAN; v.x_len];
    for q in 0..p {
        for r in 0..rows {
            let s = v.x.off as usize + q * v.x.stride as usize + r * v.x.ld as usize;
            xs[s..s + lines].copy_from_slice(&xdata[(q * rows + r) * lines..][..lines]);
        }
    }
    be.write(v.x.buf, &xs);
    be.write(v.y.buf, &vec![-7.0; v.y_len]);
    be.xbar_read(id, v.x, v.y, op);
    let ys = be.read(v.y.buf);
    let mut out = Vec::with_capacity(p * rows * outs);
    for q in 0..p {
        for r in 0..rows {
            let s = v.y.off as usize + q * v.y.stride as usize + r * v.y.ld as usize;
            out.extend_from_slice(&ys[s..s + outs]);
            // Padding is left alone.
            if outs < v.y.ld as usize {
                assert_eq!(ys[s + outs], -7.0, "padding overwritten");
            }
        }
    }
    (out, be.xbar_activity(id))
}

/// Input range of one instance's rows, as `backend::xbar::input_range`.
fn range(x: &[f32], signed: bool) -> f32 {
    insitu::backend::xbar::input_range(x, signed)
}

/// Largest single-conversion weight of a read in output units: one code of a data column
/// (doubled for offset) at the top shift, times the ADC step and de-scaling.
fn lsb_weight(l: &LayerCells, cfg: &Xbar, dir: Direction, x_max: f32) -> f64 {
    let geo = geometry(l, dir, cfg);
    let top =
        (l.cell_bits as usize * (geo.slices - 1) + geo.dac_bits as usize * (geo.cycles - 1)) as i32;
    let code = if l.mapping == Mapping::Offset {
        2.0
    } else {
        1.0
    };
    code * 2f64.powi(top) * adc_step(l, dir, cfg) as f64 * descale(l, dir, x_max, cfg)
}

/// Compares GPU and reference outputs. `exact`: equal to f32 rounding of the de-scaling (a few
/// ulp); otherwise outputs may differ by one ADC code of one conversion at a rounding boundary,
/// in at most `max_flips` of them. Returns the number of outputs that differ beyond rounding.
#[allow(clippy::too_many_arguments)]
fn compare(
    what: &str,
    g: &[f32],
    c: &[f32],
    layers: &[LayerCells],
    cfg: &Xbar,
    dir: Direction,
    x: &[f32],
    signed: bool,
    exact: bool,
) -> usize {
    let p = layers.len();
    let per = g.len() / p;
    let xper = x.len() / p;
    let mut flips = 0;
    for q in 0..p {
        let x_max = range(&x[q * xper..(q + 1) * xper], signed);
        let lsb = lsb_weight(&layers[q], cfg, dir, x_max);
        for e in q * per..(q + 1) * per {
            let (a, b) = (g[e] as f64, c[e] as f64);
            let d = (a - b).abs();
            if d <= 4e-7 * b.abs().max(a.abs()) + 1e-30 {
                continue;
            }
            flips += 1;
            assert!(
                !exact && d <= lsb * 1.0001,
                "{what}: instance {q} element {e}: gpu {a} vs reference {b} (one-flip bound {lsb})"
            );
        }
    }
    flips
}

fn sized_x(n: usize, stream: u64, signed: bool) -> Vec<f32> {
    let mut x = values(n, stream, if signed { -1.0 } else { -0.3 }, 1.0);
    // A few exact zeros and a tie-prone value.
    for i in (0..n).step_by(11) {
        x[i] = 0.0;
    }
    x
}

struct ReadCase {
    mapping: Mapping,
    wb: u32,
    cb: u32,
    ib: u32,
    db: u32,
    adc: u32,
    mode: AdcMode,
    par: u32,
}

const CASES: &[ReadCase] = &[
    ReadCase {
        mapping: Mapping::Offset,
        wb: 8,
        cb: 2,
        ib: 8,
        db: 1,
        adc: 16,
        mode: AdcMode::Unit,
        par: 128,
    },
    ReadCase {
        mapping: Mapping::Differential,
        wb: 8,
        cb: 3,
        ib: 6,
        db: 2,
        adc: 16,
        mode: AdcMode::Unit,
        par: 48,
    },
    ReadCase {
        mapping: Mapping::Offset,
        wb: 4,
        cb: 4,
        ib: 5,
        db: 5,
        adc: 16,
        mode: AdcMode::Unit,
        par: 32,
    },
    ReadCase {
        mapping: Mapping::Differential,
        wb: 1,
        cb: 1,
        ib: 3,
        db: 1,
        adc: 16,
        mode: AdcMode::Unit,
        par: 128,
    },
    ReadCase {
        mapping: Mapping::Offset,
        wb: 16,
        cb: 8,
        ib: 16,
        db: 2,
        adc: 16,
        mode: AdcMode::Unit,
        par: 8,
    },
    ReadCase {
        mapping: Mapping::Offset,
        wb: 6,
        cb: 2,
        ib: 4,
        db: 2,
        adc: 6,
        mode: AdcMode::Full,
        par: 64,
    },
    ReadCase {
        mapping: Mapping::Differential,
        wb: 5,
        cb: 5,
        ib: 4,
        db: 1,
        adc: 4,
        mode: AdcMode::Unit,
        par: 128,
    },
];

const SHAPES: &[(usize, usize, usize)] = &[
    (1, 10, 3),
    (127, 65, 1),
    (129, 1, 32),
    (300, 10, 3),
    (17, 65, 5),
];

/// Ideal arrays: the GPU equals the reference (integers, up to f32 de-scaling), and the raw
/// integer recovered from the output equals the reference's integer read.
#[test]
fn ideal_reads_match_reference_exactly() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut clipped = 0;
    for (ci, rc) in CASES.iter().enumerate() {
        for (si, &(k, n, rows)) in SHAPES.iter().enumerate() {
            let case = (ci * 10 + si) as u64;
            let mut cfg = ideal(rc.mapping, rc.wb, rc.cb, rc.ib, rc.db);
            cfg.array.parallel_rows = rc.par;
            cfg.array.adc_bits = rc.adc;
            cfg.array.adc_bits_backward = rc.adc;
            cfg.array.adc_mode = rc.mode;
            let w = values(n * k, case, -0.7, 0.7);
            let layer = map_weights(&w, n, k, None, &cfg, 0, 1);
            let layers = vec![layer];
            let knobs = vec![quiet(case)];
            for (dir, signed) in [
                (Direction::Forward, false),
                (Direction::Forward, true),
                (Direction::Transposed, true),
                (Direction::Transposed, false),
            ] {
                let (lines, outs) = dims(&layers[0], dir);
                let x = sized_x(rows * lines, case + 100, signed);
                let op = XbarRead {
                    dir,
                    signed,
                    rows: rows as u32,
                    read_counter: 3,
                };
                g.force_read_tile = tile_of(ci * SHAPES.len() + si);
                let (yg, ag) = run_read(&mut g, &cfg, &layers, &knobs, &op, &x);
                let (yc, ac) = run_read(&mut c, &cfg, &layers, &knobs, &op, &x);
                let what = format!(
                    "case {ci} shape {k}x{n}x{rows} {dir:?} signed {signed} tile {:?}",
                    g.force_read_tile
                );
                compare(&what, &yg, &yc, &layers, &cfg, dir, &x, signed, true);
                assert_eq!(ag, ac, "{what}: activity");
                // Integer check through the de-scaling.
                let x_max = range(&x, signed);
                let (raw, _) = read_raw(
                    &layers[0],
                    dir,
                    &ReadInput::new(&x, rows, x_max).signed(signed).counter(3),
                    &cfg,
                    &knobs[0],
                );
                // raw = ADC step x integer shift-add sum.
                let step = adc_step(&layers[0], dir, &cfg) as f64;
                let f = descale(&layers[0], dir, x_max, &cfg) * step;
                for (e, (&yv, &r)) in yg.iter().zip(&raw).enumerate() {
                    let int = r / step;
                    assert_eq!(int, int.round(), "{what}: reference not an integer");
                    if int.abs() < 4e6 {
                        let back = yv as f64 / f;
                        assert!(
                            (back - int).abs() < 0.5,
                            "{what}: output {e} integer {int} vs gpu {back}"
                        );
                    }
                }
                if rc.adc == 4 {
                    clipped += ac.forward.adc_clipped + ac.transposed.adc_clipped;
                }
                assert_eq!(yg.len(), rows * outs);
            }
        }
    }
    assert!(clipped > 0, "the 4-bit unit ADC case should clip");
}

/// The ideal read equals the float matmul of the quantized operands.
#[test]
fn ideal_read_equals_quantized_matmul() {
    let mut g = gpu();
    let (k, n, rows) = (129, 10, 3);
    let cfg = ideal(Mapping::Offset, 8, 2, 8, 1);
    let w = values(n * k, 5, -1.0, 1.0);
    let layer = map_weights(&w, n, k, None, &cfg, 0, 0);
    let s = layer.scale;
    let x = values(rows * k, 6, 0.0, 1.0);
    let op = XbarRead {
        dir: Direction::Forward,
        signed: false,
        rows: rows as u32,
        read_counter: 0,
    };
    let (y, _) = run_read(&mut g, &cfg, &[layer], &[quiet(1)], &op, &x);
    let x_max = range(&x, false);
    for b in 0..rows {
        for j in 0..n {
            let mut f = 0f64;
            for i in 0..k {
                let (code, _, _) =
                    insitu::xbar::mapping::weight_code(w[j * k + i], s, 8, Mapping::Offset);
                let q = insitu::xbar::read_input::input_code(x[b * k + i], x_max, 8) as f64;
                f += (s as f64 * code as f64 / 255.0) * (x_max as f64 * q / 255.0);
            }
            let got = y[b * n + j] as f64;
            assert!(
                (got - f).abs() <= 1e-5 * (1.0 + f.abs()),
                "{b} {j}: {got} vs {f}"
            );
        }
    }
}

/// Noisy settings, ADC modes with few bits (clipping), partial-parallel reads.
#[test]
fn noisy_reads_match_within_one_lsb() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let settings: &[(&str, f32, f32, f32, f64, f64, f64)] = &[
        // name, d2d, read_noise, output_noise, stuck_off, stuck_on, drift nu
        ("d2d", 0.1, 0.0, 0.0, 0.0, 0.0, 0.0),
        ("stuck+drift", 0.0, 0.0, 0.0, 0.05, 0.03, 0.05),
        ("read", 0.0, 0.05, 0.0, 0.0, 0.0, 0.0),
        ("output", 0.0, 0.0, 0.7, 0.0, 0.0, 0.0),
        ("all", 0.05, 0.02, 0.3, 0.02, 0.02, 0.03),
        ("output-referred read", 0.0, 0.05, 0.0, 0.0, 0.0, 0.0),
    ];
    let mut total_flips = 0;
    let mut total_outputs = 0;
    for (si, &(name, d2d, rn, on, soff, son, nu)) in settings.iter().enumerate() {
        for (mi, (mapping, mode, adc, par)) in [
            (Mapping::Offset, AdcMode::Full, 6, 64),
            (Mapping::Differential, AdcMode::Unit, 5, 32),
            (Mapping::Offset, AdcMode::Calibrated, 5, 128),
        ]
        .into_iter()
        .enumerate()
        {
            let case = (si * 10 + mi) as u64;
            let mut cfg = ideal(mapping, 6, 2, 5, 2);
            cfg.array.adc_mode = mode;
            cfg.array.adc_bits = adc;
            cfg.array.adc_bits_backward = adc + 1;
            cfg.array.parallel_rows = par;
            cfg.array.rows = 128;
            cfg.array.cols = 64;
            cfg.device.on_off = 20.0;
            cfg.device.stuck_off = soff;
            cfg.device.stuck_on = son;
            cfg.device.drift.nu = nu;
            cfg.device.drift.t = 1000.0;
            if name == "output-referred read" {
                cfg.device.read_noise_model = ReadNoiseModel::OutputReferred;
            }
            let (k, n, rows) = (150, 33, 6);
            g.force_read_tile = tile_of(si * 3 + mi);
            let w = values(n * k, case, -0.8, 0.8);
            let mut layer = map_weights(&w, n, k, None, &cfg, 0, 2);
            let knobs = Knobs {
                d2d,
                read_noise: rn,
                output_noise: on,
                ..quiet(40 + case)
            };
            if mode == AdcMode::Calibrated {
                let xc = values(4 * k, 77, 0.0, 1.0);
                calibrate(
                    &mut layer,
                    Direction::Forward,
                    &ReadInput::new(&xc, 4, 1.0),
                    &cfg,
                    &knobs,
                );
            }
            let layers = vec![layer];
            for (dir, signed) in [(Direction::Forward, false), (Direction::Transposed, true)] {
                let (lines, _) = dims(&layers[0], dir);
                let x = sized_x(rows * lines, case + 7, signed);
                let op = XbarRead {
                    dir,
                    signed,
                    rows: rows as u32,
                    read_counter: 11 + case as u32,
                };
                let kn = [knobs];
                let (yg, ag) = run_read(&mut g, &cfg, &layers, &kn, &op, &x);
                let (yc, ac) = run_read(&mut c, &cfg, &layers, &kn, &op, &x);
                let what = format!(
                    "{name} {mapping:?} {mode:?} {dir:?} tile {:?}",
                    g.force_read_tile
                );
                let exact = rn == 0.0 && on == 0.0;
                total_flips += compare(&what, &yg, &yc, &layers, &cfg, dir, &x, signed, exact);
                total_outputs += yg.len();
                assert_eq!(ag.forward.active_rows, ac.forward.active_rows, "{what}");
                assert_eq!(
                    ag.transposed.active_rows, ac.transposed.active_rows,
                    "{what}"
                );
                assert_eq!(
                    ag.forward.adc_conversions, ac.forward.adc_conversions,
                    "{what}"
                );
                assert_eq!(
                    ag.transposed.adc_conversions, ac.transposed.adc_conversions,
                    "{what}"
                );
                let clip = |a: &XbarActivity| a.forward.adc_clipped + a.transposed.adc_clipped;
                let (cg, cc) = (clip(&ag), clip(&ac));
                assert!(
                    cg.abs_diff(cc) <= if exact { 0 } else { 2 },
                    "{what}: clipped {cg} vs {cc}"
                );
            }
        }
    }
    eprintln!("noisy reads: {total_flips} of {total_outputs} outputs differ by one code");
    assert!(
        total_flips * 100 <= total_outputs,
        "{total_flips} of {total_outputs}"
    );
}

/// P = 3 instances with different knobs in one dispatch equal three single-instance layers, and
/// each matches the reference.
#[test]
fn population_equals_separate_layers() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut cfg = ideal(Mapping::Differential, 6, 3, 6, 2);
    cfg.array.adc_mode = AdcMode::Full;
    cfg.array.adc_bits = 7;
    cfg.array.parallel_rows = 64;
    cfg.device.on_off = 30.0;
    let (k, n, rows) = (130, 20, 5);
    let mut layers = Vec::new();
    let mut knobs = Vec::new();
    for p in 0..3u32 {
        let w = values(n * k, 50 + p as u64, -1.0, 1.0);
        layers.push(map_weights(&w, n, k, None, &cfg, p, 3));
        knobs.push(Knobs {
            d2d: 0.05 * p as f32,
            read_noise: 0.01 * p as f32,
            output_noise: 0.2 * p as f32,
            ..quiet(9 + p as u64)
        });
    }
    for (dir, signed) in [(Direction::Forward, false), (Direction::Transposed, true)] {
        let (lines, outs) = dims(&layers[0], dir);
        // Instance 1 gets larger inputs: per-instance ranges.
        let mut x = sized_x(3 * rows * lines, 60, signed);
        for v in &mut x[rows * lines..2 * rows * lines] {
            *v *= 3.0;
        }
        let op = XbarRead {
            dir,
            signed,
            rows: rows as u32,
            read_counter: 5,
        };
        let (yg, ag) = run_read(&mut g, &cfg, &layers, &knobs, &op, &x);
        let (yc, ac) = run_read(&mut c, &cfg, &layers, &knobs, &op, &x);
        compare(
            "population",
            &yg,
            &yc,
            &layers,
            &cfg,
            dir,
            &x,
            signed,
            false,
        );
        assert_eq!(ag.forward.adc_conversions, ac.forward.adc_conversions);
        assert_eq!(ag.transposed.active_rows, ac.transposed.active_rows);
        let per = rows * outs;
        let mut sum = XbarActivity::default();
        for p in 0..3 {
            let (y1, a1) = run_read(
                &mut g,
                &cfg,
                &layers[p..p + 1],
                &knobs[p..p + 1],
                &op,
                &x[p * rows * lines..(p + 1) * rows * lines],
            );
            assert_eq!(&y1[..], &yg[p * per..(p + 1) * per], "instance {p} {dir:?}");
            sum.vectors_forward += a1.vectors_forward;
            sum.vectors_transposed += a1.vectors_transposed;
            sum.forward += a1.forward;
            sum.transposed += a1.transposed;
        }
        assert_eq!(sum, ag, "{dir:?}: summed activity");
    }
}

fn training_cfg(nl: (f32, f32), c2c: f32, rounding: Rounding, mapping: Mapping) -> (Xbar, f32) {
    let mut cfg = ideal(mapping, 6, 6, 6, 1);
    cfg.array.adc_mode = AdcMode::Full;
    cfg.array.adc_bits = 8;
    cfg.device.levels = 64;
    cfg.device.on_off = 12.5;
    cfg.device.nl_ltp = nl.0 as f64;
    cfg.device.nl_ltd = nl.1 as f64;
    cfg.device.c2c = c2c as f64;
    cfg.device.rounding = rounding;
    cfg.device.max_pulses_per_update = 9;
    (cfg, c2c)
}

/// Programming: conductances within 1e-5 relative, write counters exact, and the read after
/// programming sees the new cells.
#[test]
fn programming_matches_reference() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut case = 0u64;
    for nl in [
        (0.0, 0.0),
        (1.75, -1.46),
        (1.75, 1.46),
        (-2.0, 3.0),
        (9.0, -9.0),
    ] {
        for (c2c, nl_d2d) in [(0.0, 0.0), (0.01, 0.2)] {
            for rounding in [Rounding::Stochastic, Rounding::Nearest] {
                for mapping in [Mapping::Offset, Mapping::Differential] {
                    case += 1;
                    let (mut cfg, _) = training_cfg(nl, c2c, rounding, mapping);
                    if case % 2 == 1 {
                        cfg.device.c2c_law = C2cLaw::PerUpdate;
                    }
                    // SET-only pairs with refresh (large updates saturate cells quickly).
                    cfg.device.set_only = mapping == Mapping::Differential && case % 4 >= 2;
                    let (k, n, p) = (70, 9, 2);
                    let mut layers = Vec::new();
                    let mut knobs = Vec::new();
                    for q in 0..p {
                        let kn = Knobs {
                            c2c: c2c * (1.0 + q as f32),
                            nl_d2d,
                            // Up/down asymmetry and bound spreads with the NL spread.
                            up_down_d2d: nl_d2d,
                            bounds_d2d: nl_d2d * 0.5,
                            nl_ltp: nl.0,
                            nl_ltd: nl.1,
                            lr: 0.05 * (1.0 + q as f32),
                            ..quiet(case * 10 + q as u64)
                        };
                        let w = values(n * k, case + 200 + q as u64, -0.9, 0.9);
                        layers
                            .push(map_for_training(&w, n, k, 1.0, &cfg, &kn, q as u32, 4).unwrap());
                        knobs.push(kn);
                    }
                    let ig = g.xbar_create(&cfg, layers.clone(), knobs.clone());
                    let ic = c.xbar_create(&cfg, layers.clone(), knobs.clone());
                    let gbuf_g = g.alloc(p * n * k);
                    let gbuf_c = c.alloc(p * n * k);
                    for step in 0..3u32 {
                        let grad = values(p * n * k, case * 100 + step as u64, -3.0, 3.0);
                        g.write(gbuf_g, &grad);
                        c.write(gbuf_c, &grad);
                        g.xbar_program(ig, gbuf_g, step);
                        c.xbar_program(ic, gbuf_c, step);
                    }
                    let (lg, lc) = (g.xbar_cells(ig), c.xbar_cells(ic));
                    let what = format!(
                        "NL {nl:?} c2c {c2c} {:?} set_only {} {rounding:?} {mapping:?}",
                        cfg.device.c2c_law, cfg.device.set_only
                    );
                    for (a, b) in lg.iter().zip(&lc) {
                        assert_eq!(a.ref_fwd, b.ref_fwd, "{what}");
                        assert_eq!(a.ref_bwd, b.ref_bwd, "{what}");
                        for (e, (&x, &y)) in a.cells.iter().zip(&b.cells).enumerate() {
                            assert!(
                                (x - y).abs() <= 1e-5 * y.abs(),
                                "{what}: cell {e}: gpu {x} vs reference {y}"
                            );
                        }
                    }
                    let (ag, ac) = (g.xbar_activity(ig), c.xbar_activity(ic));
                    assert_eq!(ag, ac, "{what}: write counters");
                    assert!(ac.write_pulses > 0, "{what}: nothing programmed");
                    // Reads see the programmed cells.
                    let op = XbarRead {
                        dir: Direction::Forward,
                        signed: false,
                        rows: 2,
                        read_counter: 1,
                    };
                    let x = values(p * 2 * k, case, 0.0, 1.0);
                    let (yg, _) = read_on(&mut g, ig, &layers, &op, &x);
                    let (yc, _) = read_on(&mut c, ic, &layers, &op, &x);
                    compare(
                        &what,
                        &yg,
                        &yc,
                        &lc,
                        &cfg,
                        Direction::Forward,
                        &x,
                        false,
                        false,
                    );
                }
            }
        }
    }
}

/// Counters accumulate over calls; the per-call counter ring wraps without mixing reads.
#[test]
fn many_reads_in_one_submission() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut cfg = ideal(Mapping::Offset, 4, 2, 4, 1);
    cfg.array.adc_mode = AdcMode::Full;
    cfg.array.adc_bits = 5;
    let (k, n, rows) = (20, 6, 2);
    let w = values(n * k, 3, -1.0, 1.0);
    let layers = vec![map_weights(&w, n, k, None, &cfg, 0, 0)];
    let knobs = vec![Knobs {
        output_noise: 0.5,
        ..quiet(2)
    }];
    let ig = g.xbar_create(&cfg, layers.clone(), knobs.clone());
    let ic = c.xbar_create(&cfg, layers.clone(), knobs.clone());
    let x = values(rows * k, 4, 0.0, 1.0);
    let reads = 150usize;
    let xg = g.alloc(rows * k);
    let yg = g.alloc(reads * rows * n);
    let xc = c.alloc(rows * k);
    let yc = c.alloc(reads * rows * n);
    g.write(xg, &x);
    c.write(xc, &x);
    for r in 0..reads {
        let xv = |buf| MatView {
            buf,
            off: 0,
            ld: k as u32,
            stride: 0,
        };
        let yv = |buf| MatView {
            buf,
            off: (r * rows * n) as u32,
            ld: n as u32,
            stride: 0,
        };
        let op = XbarRead {
            dir: Direction::Forward,
            signed: false,
            rows: rows as u32,
            read_counter: r as u32,
        };
        g.xbar_read(ig, xv(xg), yv(yg), &op);
        c.xbar_read(ic, xv(xc), yv(yc), &op);
    }
    let (a, b) = (g.read(yg), c.read(yc));
    let mut flips = 0;
    for (e, (&u, &v)) in a.iter().zip(&b).enumerate() {
        if u != v && (u - v).abs() > 1e-6 * v.abs() {
            flips += 1;
            assert!(flips < 5, "element {e}: {u} vs {v}");
        }
    }
    // Distinct read counters give distinct noise.
    assert_ne!(a[..rows * n], a[rows * n..2 * rows * n]);
    let (ag, ac) = (g.xbar_activity(ig), c.xbar_activity(ic));
    assert_eq!(ag.forward.adc_conversions, ac.forward.adc_conversions);
    assert_eq!(ag.forward.active_rows, ac.forward.active_rows);
    assert_eq!(ag.vectors_forward, reads as u64 * rows as u64);
}

/// Instances 0 and 1 of an n x k layer (`layer` id) with random weights from `stream + q`.
fn two_instances(cfg: &Xbar, n: usize, k: usize, stream: u64, layer: u32) -> Vec<LayerCells> {
    (0..2)
        .map(|q| {
            map_weights(
                &values(n * k, stream + q, -0.9, 0.9),
                n,
                k,
                None,
                cfg,
                q as u32,
                layer,
            )
        })
        .collect()
}

/// ADC ranges set after creation (recalibration during training) reach the GPU read: both
/// backends read the same codes with a range [lo, hi] set per instance and direction.
#[test]
fn adc_ranges_set_after_creation_match_reference() {
    use insitu::xbar::adc_range::AdcRange;
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut cfg = ideal(Mapping::Offset, 6, 6, 5, 1);
    cfg.array.adc_mode = AdcMode::Calibrated;
    cfg.device.on_off = 10.0;
    let (k, n, rows) = (90, 21, 3);
    let layers = two_instances(&cfg, n, k, 300, 1);
    let knobs = vec![quiet(5), quiet(6)];
    let ig = g.xbar_create(&cfg, layers.clone(), knobs.clone());
    let ic = c.xbar_create(&cfg, layers.clone(), knobs);
    let ranges = [
        [
            Some(AdcRange {
                lo: 40.0,
                hi: 300.0,
            }),
            Some(AdcRange { lo: 5.0, hi: 90.0 }),
        ],
        [Some(AdcRange { lo: 0.0, hi: 200.0 }), None],
    ];
    g.xbar_set_adc(ig, &ranges);
    c.xbar_set_adc(ic, &ranges);
    for (dir, signed) in [(Direction::Forward, false), (Direction::Transposed, true)] {
        let (lines, _) = dims(&layers[0], dir);
        let x = sized_x(2 * rows * lines, 9, signed);
        let op = XbarRead {
            dir,
            signed,
            rows: rows as u32,
            read_counter: 3,
        };
        let (yg, ag) = read_on(&mut g, ig, &layers, &op, &x);
        let (yc, ac) = read_on(&mut c, ic, &layers, &op, &x);
        // Same codes; the de-scaling differs in the last bit (f32 on the GPU, f64 here).
        for (i, (a, b)) in yg.iter().zip(&yc).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{dir:?} {i}: {a} vs {b}"
            );
        }
        assert_eq!(ag, ac, "{dir:?}");
        assert!(
            ac.forward.adc_clipped + ac.transposed.adc_clipped > 0,
            "ranges unused"
        );
    }
    let back = c.xbar_cells(ic);
    assert_eq!(back[0].adc_range(Direction::Forward), ranges[0][0]);
    assert_eq!(back[1].adc_range(Direction::Transposed), None);
}

/// Per-device, state-dependent drift with growing read noise and global compensation: the GPU's
/// effective conductances follow the reference's (the GPU `exp` may flip a code now and then).
#[test]
fn per_cell_drift_and_compensation_match_reference() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut flips = 0;
    let mut total = 0;
    for compensate in [false, true] {
        let mut cfg = ideal(Mapping::Offset, 6, 3, 6, 1);
        cfg.array.adc_mode = AdcMode::Full;
        cfg.device.on_off = 25.0;
        cfg.device.stuck_off = 0.02;
        cfg.device.drift.nu = 0.06;
        cfg.device.drift.nu_state = 0.05;
        cfg.device.drift.nu_d2d = 0.03;
        cfg.device.drift.t = 3.0e5;
        cfg.device.drift.compensate = compensate;
        let (k, n, rows) = (70, 19, 3);
        let layers = two_instances(&cfg, n, k, 500, 2);
        let knobs = vec![quiet(8), quiet(9)];
        let ig = g.xbar_create(&cfg, layers.clone(), knobs.clone());
        let ic = c.xbar_create(&cfg, layers.clone(), knobs.clone());
        let gain = c.xbar_cells(ic)[0].drift_gain;
        if compensate {
            // Cells lose conductance: the calibration read raises the gain, by about t^nu.
            assert!(gain > 1.5 && gain < 3.0e5f32.powf(0.12), "gain {gain}");
        } else {
            assert_eq!(gain, 1.0);
        }
        for (dir, signed) in [(Direction::Forward, false), (Direction::Transposed, true)] {
            let (lines, _) = dims(&layers[0], dir);
            let x = sized_x(2 * rows * lines, 21, signed);
            let op = XbarRead {
                dir,
                signed,
                rows: rows as u32,
                read_counter: 5,
            };
            let (yg, _) = read_on(&mut g, ig, &layers, &op, &x);
            let (yc, _) = read_on(&mut c, ic, &layers, &op, &x);
            let what = format!("drift compensate={compensate} {dir:?}");
            let host = c.xbar_cells(ic);
            flips += compare(&what, &yg, &yc, &host, &cfg, dir, &x, signed, false);
            total += yg.len();
        }
    }
    assert!(flips * 50 <= total, "{flips} of {total} outputs differ");
}

/// `minmax` ADC on the GPU against the reference: per-instance, per-tensor ranges over the whole
/// batch, offset and differential, forward and signed transposed reads, awkward shapes, with and
/// without noise. The GPU sums in another order and shift-adds in f32, so an output may differ by
/// a code flip at a boundary (bounded by two LSBs of the widest tensor at the top shift);
/// almost all agree to 1e-4 of the output range. Counters are exact.
#[test]
fn minmax_reads_match_reference() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let mut flips = 0usize;
    let mut total = 0usize;
    for (case, (mapping, wb, cb, ib, db, adc, par, k, n, rows, rn, on)) in [
        (Mapping::Offset, 6, 2, 5, 2, 5, 40, 150, 33, 3, 0.0, 0.0),
        (
            Mapping::Differential,
            5,
            5,
            6,
            1,
            4,
            64,
            97,
            70,
            5,
            0.0,
            0.0,
        ),
        (Mapping::Offset, 4, 4, 4, 1, 6, 128, 300, 9, 2, 0.03, 0.4),
        (
            Mapping::Differential,
            8,
            2,
            8,
            1,
            3,
            64,
            33,
            60,
            4,
            0.02,
            0.0,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut cfg = ideal(mapping, wb, cb, ib, db);
        cfg.array.adc_mode = AdcMode::MinMax;
        g.force_read_tile = tile_of(case + 1);
        (cfg.array.adc_bits, cfg.array.adc_bits_backward) = (adc, adc + 1);
        cfg.array.parallel_rows = par;
        cfg.array.cols = 64;
        cfg.device.on_off = 20.0;
        let p = 2;
        let mut layers = Vec::new();
        let mut knobs = Vec::new();
        for q in 0..p {
            let w = values(n * k, 300 + case as u64 * 7 + q as u64, -0.8, 0.8);
            layers.push(map_weights(&w, n, k, None, &cfg, q as u32, 1));
            knobs.push(Knobs {
                read_noise: rn,
                output_noise: on,
                d2d: 0.05 * q as f32,
                ..quiet(80 + case as u64 * 3 + q as u64)
            });
        }
        for (dir, signed) in [(Direction::Forward, false), (Direction::Transposed, true)] {
            let (lines, outs) = dims(&layers[0], dir);
            let mut x = sized_x(p * rows * lines, case as u64 + 17, signed);
            for v in &mut x[rows * lines..] {
                *v *= 2.0;
            }
            let op = XbarRead {
                dir,
                signed,
                rows: rows as u32,
                read_counter: 7,
            };
            let (yg, ag) = run_read(&mut g, &cfg, &layers, &knobs, &op, &x);
            let (yc, ac) = run_read(&mut c, &cfg, &layers, &knobs, &op, &x);
            let what = format!(
                "minmax case {case} {mapping:?} {dir:?} tile {:?}",
                g.force_read_tile
            );
            assert_eq!(
                ag.forward.adc_conversions, ac.forward.adc_conversions,
                "{what}"
            );
            assert_eq!(
                ag.transposed.adc_conversions, ac.transposed.adc_conversions,
                "{what}"
            );
            assert_eq!(ag.forward.active_rows, ac.forward.active_rows, "{what}");
            assert_eq!(
                ag.transposed.active_rows, ac.transposed.active_rows,
                "{what}"
            );
            let geo = geometry(&layers[0], dir, &cfg);
            let per = rows * outs;
            for q in 0..p {
                let xs = &x[q * rows * lines..(q + 1) * rows * lines];
                let x_max = range(xs, signed);
                let l = &layers[q];
                let levels = ((1u32 << cb) - 1) as f64 + l.g_min as f64 / l.unit() as f64;
                let digit = ((1u32 << db) - 1) as f64;
                let step = geo.pass as f64 * digit * levels / (1u64 << geo.adc_bits) as f64;
                let top = (1u64
                    << (cb as usize * (geo.slices - 1) + db as usize * (geo.cycles - 1)))
                    as f64;
                let flip = 4.0 * step * top * descale(l, dir, x_max, &cfg);
                let ys = &yc[q * per..(q + 1) * per];
                let scale = ys
                    .iter()
                    .fold(0f64, |m, v| m.max(v.abs() as f64))
                    .max(1e-12);
                for e in q * per..(q + 1) * per {
                    let d = (yg[e] as f64 - yc[e] as f64).abs();
                    total += 1;
                    if d > 1e-4 * scale {
                        flips += 1;
                        assert!(
                            d <= flip,
                            "{what}: instance {q} element {e}: gpu {} vs reference {} (bound {flip})",
                            yg[e],
                            yc[e]
                        );
                    }
                }
            }
        }
    }
    eprintln!("minmax: {flips} of {total} outputs differ beyond 1e-4 of the range");
    assert!(flips * 20 <= total, "{flips} of {total}");
}

/// Reads with thousands of (sign, group, pass, slice, cycle) steps per workgroup, more than one
/// invocation of llvmpipe may loop through in one dispatch: every step is converted (counters
/// equal the reference's) and the outputs match, ideal and noisy, forward and transposed.
#[test]
fn long_reads_match_reference() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    for (case, (mapping, par, lines, dir, rn, on)) in [
        (Mapping::Offset, 8, 40, Direction::Forward, 0.0, 0.0),
        (Mapping::Differential, 4, 48, Direction::Forward, 0.0, 0.0),
        (Mapping::Offset, 2, 60, Direction::Transposed, 0.0, 0.0),
        (Mapping::Offset, 16, 70, Direction::Forward, 0.03, 0.3),
    ]
    .into_iter()
    .enumerate()
    {
        let mut cfg = ideal(mapping, 16, 1, 16, 1);
        cfg.array.parallel_rows = par;
        let rows = 2;
        // The noisy case with 16-row tiles: the longest loops per step.
        g.force_read_tile = tile_of(case);
        let (n, k) = match dir {
            Direction::Forward => (5, lines),
            Direction::Transposed => (lines, 5),
        };
        let w = values(n * k, 7 + case as u64, -0.9, 0.9);
        let layers = vec![map_weights(&w, n, k, None, &cfg, 0, 0)];
        let knobs = vec![Knobs {
            read_noise: rn,
            output_noise: on,
            ..quiet(3)
        }];
        let x = sized_x(rows * lines, 11, true);
        let op = XbarRead {
            dir,
            signed: true,
            rows: rows as u32,
            read_counter: 1,
        };
        let geo = geometry(&layers[0], dir, &cfg);
        let passes = lines.div_ceil(geo.pass);
        let steps = 2 * passes * geo.slices * geo.cycles;
        assert!(steps >= 2500, "case {case}: only {steps} steps");
        let (yg, ag) = run_read(&mut g, &cfg, &layers, &knobs, &op, &x);
        let (yc, ac) = run_read(&mut c, &cfg, &layers, &knobs, &op, &x);
        let what = format!("case {case}: {mapping:?} {dir:?}, {steps} steps");
        let exact = rn == 0.0 && on == 0.0;
        compare(&what, &yg, &yc, &layers, &cfg, dir, &x, true, exact);
        let counters = |a: &XbarActivity| match dir {
            Direction::Forward => a.forward,
            Direction::Transposed => a.transposed,
        };
        let (cg, cc) = (counters(&ag), counters(&ac));
        assert_eq!(cg.active_rows, cc.active_rows, "{what}");
        assert_eq!(cg.adc_conversions, cc.adc_conversions, "{what}");
        assert!(cc.adc_conversions > 0, "{what}");
        if exact {
            assert_eq!(ag, ac, "{what}: activity");
        }
    }
}
