//! The benchmark suite: fixed, documented cases timed on a backend, written as JSON with the
//! adapter that ran them. Wall-clock timings around whole batches of work, synchronised by a
//! read-back at the end (the GPU queue is drained before the clock stops), and device time from
//! timestamp queries around every submitted pass where the adapter supports them.
//!
//! Cases:
//! - `gemm`: forward-orientation GEMM (X W^T) at n x n x n, GFLOP/s = 2 n^3 / s.
//! - `xbar_read`: the fused quantized crossbar read, forward, 5-bit cells, 8-bit inputs
//!   (8 bit-serial cycles), 6-bit calibrated-mode ADC; effective MACs/s (each weight x input once)
//!   and cell-reads/s (x cycles x slices).
//! - `train_float` / `train_insitu`: one epoch of the 784-256-256-10 perceptron (784-64-10 when
//!   quick) with BP, samples/s.
//! - `population`: in-situ epochs with P = 1 and P = 16 instances; the cost ratio.
//! - `estimate_vgg8`: the chip cost model of VGG-8 (inference and training).

use std::time::Instant;

use serde::Serialize;

use crate::backend::*;
use crate::config::{parse, ExperimentConfig};
use crate::data::{self, Split};
use crate::gpu::AdapterSummary;
use crate::train::{run_on, RunOptions};
use crate::xbar::mapping::map_weights;
use crate::xbar::read::Direction;
use crate::xbar::{Knobs, Xbar};

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub name: String,
    /// Wall-clock seconds of the case.
    pub seconds: f64,
    /// Device seconds from timestamp queries around every submitted pass (GPU backends with
    /// timestamp support; `None` otherwise).
    pub device_seconds: Option<f64>,
    pub value: f64,
    pub unit: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub version: String,
    pub adapter: AdapterSummary,
    pub quick: bool,
    pub cases: Vec<Case>,
    pub wall_seconds: f64,
}

fn rand(n: usize, stream: u32) -> Vec<f32> {
    crate::train::init::uniform_sym(n, 1.0, 7, crate::rng::Purpose::Sample, stream)
}

fn gemm_case(be: &mut dyn Backend, n: u32, reps: u32) -> Case {
    let a = be.alloc((n * n) as usize);
    let b = be.alloc((n * n) as usize);
    let c = be.alloc((n * n) as usize);
    be.write(a, &rand((n * n) as usize, 1));
    be.write(b, &rand((n * n) as usize, 2));
    let g = Gemm::dense(n, n, n, false, true, 1);
    be.gemm(a, b, c, &g);
    be.read(c);
    be.device_seconds(); // the warm-up is not timed
    let t0 = Instant::now();
    for _ in 0..reps {
        be.gemm(a, b, c, &g);
        be.flush();
    }
    be.read(c);
    let s = t0.elapsed().as_secs_f64();
    Case {
        name: format!("gemm_{n}"),
        seconds: s,
        device_seconds: None,
        value: 2.0 * (n as f64).powi(3) * reps as f64 / s / 1e9,
        unit: "GFLOP/s".into(),
        detail: format!("{n}x{n}x{n}, {reps} repetitions"),
    }
}

fn xbar_case(
    be: &mut dyn Backend,
    batch: u32,
    fan_in: usize,
    fan_out: usize,
    reps: u32,
) -> Vec<Case> {
    let cfg = parse(
        include_str!("../../configs/xbar_mlp_bp.toml"),
        "bench",
        &["array.adc_mode=\"full\"".into()],
    )
    .expect("bench config");
    let xb = Xbar {
        array: cfg.array.clone().expect("array"),
        device: cfg.device.clone().expect("device"),
    };
    let w = rand(fan_in * fan_out, 3);
    let knobs = Knobs::from_device(&xb.device, 0.1, 1);
    let cells = map_weights(&w, fan_out, fan_in, None, &xb, 0, 0);
    let id = be.xbar_create(&xb, vec![cells], vec![knobs]);
    let x = be.alloc(batch as usize * fan_in);
    let xs: Vec<f32> = rand(batch as usize * fan_in, 4)
        .iter()
        .map(|v| v.abs())
        .collect();
    be.write(x, &xs);
    let y = be.alloc(batch as usize * fan_out);
    let view = |buf, ld: usize| MatView {
        buf,
        off: 0,
        ld: ld as u32,
        stride: 0,
    };
    let read = |be: &mut dyn Backend, i: u32| {
        be.xbar_read(
            id,
            view(x, fan_in),
            view(y, fan_out),
            &XbarRead {
                dir: Direction::Forward,
                signed: false,
                rows: batch,
                read_counter: i,
            },
        );
        be.flush();
    };
    read(be, 0);
    be.read(y);
    be.device_seconds(); // the warm-up is not timed
    let t0 = Instant::now();
    for i in 0..reps {
        read(be, i + 1);
    }
    be.read(y);
    let s = t0.elapsed().as_secs_f64();
    let macs = batch as f64 * fan_in as f64 * fan_out as f64 * reps as f64;
    let cycles = xb.array.input_bits.div_ceil(xb.array.dac_bits) as f64 * xb.array.slices() as f64;
    let detail = format!("batch {batch}, {fan_in} -> {fan_out}, 5-bit cells, 8 input cycles, 6-bit ADC, {reps} reads");
    vec![
        Case {
            name: "xbar_read_macs".into(),
            seconds: s,
            device_seconds: None,
            value: macs / s,
            unit: "MAC/s".into(),
            detail: detail.clone(),
        },
        Case {
            name: "xbar_read_cell_reads".into(),
            seconds: s,
            device_seconds: None,
            value: macs * cycles / s,
            unit: "cell-reads/s".into(),
            detail,
        },
    ]
}

fn train_case(be: &mut dyn Backend, name: &str, cfg: &ExperimentConfig, split: &Split) -> Case {
    let t0 = Instant::now();
    let r = run_on(be, cfg, split, &RunOptions::default()).expect("bench run");
    let s = t0.elapsed().as_secs_f64();
    let f = r.final_.expect("one epoch ran");
    Case {
        name: name.into(),
        seconds: s,
        device_seconds: None,
        value: f.instance_samples_per_second,
        unit: "samples/s".into(),
        detail: format!(
            "784-{}-10, {} training samples, {} instance(s), test accuracy {:.3}",
            cfg.network
                .hidden
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            split.train.len(),
            r.instances.len(),
            f.test_accuracy
        ),
    }
}

/// Runs every case on `be`. `quick` shrinks sizes for software adapters and CI.
pub fn run(be: &mut dyn Backend, quick: bool) -> anyhow::Result<BenchReport> {
    let t0 = Instant::now();
    be.start_timing();
    let mut cases = Vec::new();
    // Device time of each case: reset before, read after.
    let timed = |be: &mut dyn Backend, cases: &mut Vec<Case>, new: Vec<Case>| {
        let dev = be.device_seconds();
        for mut c in new {
            c.device_seconds = dev;
            cases.push(c);
        }
    };
    let sizes: &[u32] = if quick {
        &[128, 256]
    } else {
        &[256, 1024, 2048]
    };
    for &n in sizes {
        be.device_seconds();
        let c = gemm_case(be, n, if quick { 4 } else { 20 });
        timed(be, &mut cases, vec![c]);
    }
    let (batch, reps) = if quick { (16, 2) } else { (256, 10) };
    be.device_seconds();
    let c = xbar_case(be, batch, 784, 256, reps);
    timed(be, &mut cases, c);
    let limit = if quick { 256 } else { 4000 };
    let split = data::load(
        &parse(
            "",
            "bench",
            &[
                format!("data.train_limit={limit}"),
                "data.test_limit=200".into(),
            ],
        )?
        .data,
    )?;
    let mut sets = vec![
        "train.epochs=1".to_string(),
        "train.batch_size=64".to_string(),
    ];
    if quick {
        sets.push("network.hidden=[64]".into());
    }
    let float = parse(
        include_str!("../../configs/mlp_mnist_bp.toml"),
        "bench",
        &sets,
    )?;
    be.device_seconds();
    let c = train_case(be, "train_float", &float, &split);
    timed(be, &mut cases, vec![c]);
    let insitu = parse(
        include_str!("../../configs/xbar_mlp_bp.toml"),
        "bench",
        &sets,
    )?;
    be.device_seconds();
    let c = train_case(be, "train_insitu", &insitu, &split);
    timed(be, &mut cases, vec![c]);
    let mut pop = insitu.clone();
    pop.population = (0..16)
        .map(|i| crate::config::InstanceConfig {
            seed: Some(100 + i),
            ..Default::default()
        })
        .collect();
    be.device_seconds();
    let mut p16 = train_case(be, "train_insitu_population16", &pop, &split);
    p16.device_seconds = be.device_seconds();
    let p1 = cases.last().expect("single-instance case").seconds;
    cases.push(Case {
        name: "population16_cost_ratio".into(),
        seconds: p16.seconds,
        device_seconds: None,
        value: p16.seconds / p1,
        unit: "x one instance".into(),
        detail: "time of 16 instances in one run / time of one instance (16 = no sharing)".into(),
    });
    cases.push(p16);
    let vgg = parse(
        include_str!("../../configs/neurosim_vgg8_training.toml"),
        "bench",
        &[],
    )?;
    let t = Instant::now();
    let reps = 100;
    for _ in 0..reps {
        crate::chip::experiment::report(&vgg, None)?;
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    cases.push(Case {
        name: "estimate_vgg8".into(),
        seconds: s,
        device_seconds: None,
        value: s * 1e3,
        unit: "ms per estimate".into(),
        detail: "VGG-8 inference + training cost, typical activity".into(),
    });
    Ok(BenchReport {
        version: env!("CARGO_PKG_VERSION").into(),
        adapter: be.describe(),
        quick,
        cases,
        wall_seconds: t0.elapsed().as_secs_f64(),
    })
}

/// A table for people.
pub fn table(r: &BenchReport) -> String {
    let mut s = format!(
        "{} ({}, {})\n",
        r.adapter.name, r.adapter.backend, r.adapter.driver
    );
    for c in &r.cases {
        let dev = c
            .device_seconds
            .map(|d| format!("{d:>9.3} s"))
            .unwrap_or_else(|| format!("{:>11}", "-"));
        s.push_str(&format!(
            "  {:<28} {:>14.4e} {:<16} wall {:>9.3} s  device {dev}  {}\n",
            c.name, c.value, c.unit, c.seconds, c.detail
        ));
    }
    s
}
