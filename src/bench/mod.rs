//! The benchmark suite: fixed, documented cases timed on a backend, written as JSON with the
//! adapter that ran them. Wall-clock timings around whole batches of work, synchronised by a
//! read-back at the end (the GPU queue is drained before the clock stops); device time from
//! timestamp queries around every submitted pass where the adapter supports them; process CPU
//! time (all threads) where the OS reports it, which tells a loaded machine from a slow kernel.
//!
//! Cases (each reports what applies of MAC/s, GFLOP/s, cell-reads/s and samples/s):
//! - `gemm_N`: forward-orientation GEMM (X W^T) at N x N x N; GFLOP/s = 2 N^3 / s.
//! - `gemm_784x256x64_{fwd,err,grad}`: the first layer of the 784-256-... perceptron at batch
//!   64 in the three orientations training uses (X W^T, D W, D^T X).
//! - `xbar_read`: the fused quantized crossbar read, forward, 784 -> 256 (`xbar_mlp_bp` array:
//!   5-bit cells, 8-bit inputs in 8 bit-serial cycles, full-range 6-bit ADC); effective MACs
//!   (each weight x input once) and cell-reads (x cycles x slices).
//! - `train_float`: one epoch of `configs/mlp_mnist_bp.toml` (784-256-256-10) at batch 64.
//! - `train_insitu`: one epoch of `configs/xbar_mlp_bp.toml` (784-256-256-10 in situ).
//! - `train_aihwkit_equiv`: `configs/bench_aihwkit_equiv.toml` (784-256-128-10 in situ with
//!   settings equivalent to aihwkit's analog SGD), all its epochs (one when quick).
//! - `train_insitu_population16`, `population16_cost_ratio`: 16 instances in one run.
//! - `train_vgg8_insitu`: in-situ VGG-8 on eight CIFAR-format images, seconds per image of
//!   the whole run, calibration included (`vgg`; not with `--quick`).
//! - `estimate_vgg8`: the chip cost model of VGG-8 (inference and training).
//!
//! Training MACs count the products of the step (forward, BP error, weight gradient), so
//! GFLOP/s of a training case is the rate an ideal GEMM would need for the same samples/s.

mod case;
mod table;
mod vgg;

use case::rand;
pub use case::{BenchReport, Case};
pub use table::{markdown, table};

use std::time::Instant;

use crate::backend::*;
use crate::config::{parse, ExperimentConfig, Rule};
use crate::data::{self, Split};
use crate::experiment::{run_on, RunOptions};
use crate::xbar::direction::Direction;
use crate::xbar::mapping::map_weights;
use crate::xbar::{Knobs, Xbar};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Small sizes (software adapters, CI).
    pub quick: bool,
    /// FP32 peak of the adapter in GFLOP/s; cases with GFLOP/s then report their fraction.
    pub peak_gflops: Option<f64>,
    /// Run only the cases whose name contains one of these (all when empty).
    pub only: Vec<String>,
}

impl Options {
    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| name.contains(o.as_str()))
    }
}

/// Process CPU seconds (all threads), from /proc on Linux; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ, 100 on every Linux ABI
}

/// Repetitions that fill about `target` seconds, from one synchronised warm-up run that took
/// `once` seconds.
fn reps_for(once: f64, target: f64, max: u32) -> u32 {
    ((target / once.max(1e-6)).ceil() as u32).clamp(3, max)
}

/// Times `reps` runs of `work` (each submitted on its own), synchronised by reading `sync`.
fn time_reps(
    be: &mut dyn Backend,
    sync: Buf,
    reps: u32,
    mut work: impl FnMut(&mut dyn Backend, u32),
) -> f64 {
    let t0 = Instant::now();
    for i in 0..reps {
        work(be, i);
        be.flush();
    }
    be.read(sync);
    t0.elapsed().as_secs_f64()
}

/// `C = op(A) op(B)` at m x n x k in one orientation.
#[allow(clippy::too_many_arguments)]
fn gemm_case(
    be: &mut dyn Backend,
    name: String,
    (m, n, k): (u32, u32, u32),
    (ta, tb): (bool, bool),
    what: &str,
    target: f64,
) -> Case {
    let a = be.alloc((m * k) as usize);
    let b = be.alloc((k * n) as usize);
    let c = be.alloc((m * n) as usize);
    be.write(a, &rand((m * k) as usize, 1));
    be.write(b, &rand((k * n) as usize, 2));
    let g = Gemm::dense(m, n, k, ta, tb, 1);
    let t = Instant::now();
    be.gemm(a, b, c, &g);
    be.read(c);
    let reps = reps_for(t.elapsed().as_secs_f64(), target, 10_000);
    be.device_seconds(); // the warm-up is not timed
    let s = time_reps(be, c, reps, |be, _| be.gemm(a, b, c, &g));
    let macs = m as f64 * n as f64 * k as f64 * reps as f64;
    let mut case = Case::new(
        name,
        s,
        0.0,
        "GFLOP/s",
        format!("{m}x{n}x{k} ({what}), {reps} repetitions"),
    )
    .with_macs(macs);
    case.value = case.gflops.unwrap_or(0.0);
    case
}

fn xbar_case(be: &mut dyn Backend, batch: u32, fan_in: usize, fan_out: usize, target: f64) -> Case {
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
    };
    let t = Instant::now();
    read(be, 0);
    be.flush();
    be.read(y);
    let reps = reps_for(t.elapsed().as_secs_f64(), target, 1000);
    be.device_seconds(); // the warm-up is not timed
    let s = time_reps(be, y, reps, |be, i| read(be, i + 1));
    let macs = batch as f64 * fan_in as f64 * fan_out as f64 * reps as f64;
    let cycles = xb.array.input_bits.div_ceil(xb.array.dac_bits) as f64 * xb.array.slices() as f64;
    let detail = format!(
        "batch {batch}, {fan_in} -> {fan_out}, {}-bit cells x {} slice(s), {} input cycles, \
         {}-bit full-range ADC, {reps} reads",
        xb.array.cell_bits,
        xb.array.slices(),
        xb.array.input_bits.div_ceil(xb.array.dac_bits),
        xb.array.adc_bits
    );
    let mut c =
        Case::new("xbar_read", s, macs * cycles / s, "cell-reads/s", detail).with_macs(macs);
    c.cell_reads_per_second = Some(macs * cycles / s);
    c
}

/// Multiply-accumulates of one training sample of a perceptron: the forward products, the
/// error products (BP chain or DFA projection) and the weight gradients.
fn train_macs(sizes: &[usize], cfg: &ExperimentConfig) -> f64 {
    let layer = |l: usize| (sizes[l] * sizes[l + 1]) as f64;
    let layers = sizes.len() - 1;
    let forward: f64 = (0..layers).map(layer).sum();
    if cfg.train.last_layer_only {
        return forward + layer(layers - 1);
    }
    let error = match cfg.train.rule {
        Rule::Bp => (1..layers).map(layer).sum(),
        Rule::Dfa => (sizes[layers] * sizes[1..layers].iter().sum::<usize>()) as f64,
    };
    2.0 * forward + error
}

fn train_case(
    be: &mut dyn Backend,
    name: &str,
    cfg: &ExperimentConfig,
    split: &Split,
) -> anyhow::Result<Case> {
    let t0 = Instant::now();
    let r = run_on(be, cfg, split, &RunOptions::default())?;
    let s = t0.elapsed().as_secs_f64();
    let f = r
        .final_
        .ok_or_else(|| anyhow::anyhow!("bench case {name}: no epoch ran"))?;
    let mut sizes = vec![split.train.features()];
    sizes.extend(&cfg.network.hidden);
    sizes.push(split.train.classes);
    let rate = f.instance_samples_per_second;
    let train_seconds: f64 = r.epochs.iter().map(|e| e.seconds).sum();
    let detail = format!(
        "{}, batch {}, {} epoch(s) of {} samples, {} instance(s), test accuracy {:.3}",
        sizes
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        cfg.train.batch_size,
        r.epochs.len(),
        split.train.len(),
        r.instances.len(),
        f.test_accuracy
    );
    let mut c = Case::new(name, s, rate, "samples/s", detail);
    c.samples_per_second = Some(rate);
    c.macs_per_second = Some(rate * train_macs(&sizes, cfg));
    c.gflops = c.macs_per_second.map(|m| 2.0 * m / 1e9);
    // Wall time of the whole run (evaluation included); the rates are over training time.
    c.detail
        .push_str(&format!(", {train_seconds:.3} s training"));
    Ok(c)
}

/// Runs `f` and records its cases with the device and CPU time it took (reset before, read
/// after) and their fraction of the peak.
fn measure(
    be: &mut dyn Backend,
    cases: &mut Vec<Case>,
    peak: Option<f64>,
    f: impl FnOnce(&mut dyn Backend) -> anyhow::Result<Vec<Case>>,
) -> anyhow::Result<()> {
    be.device_seconds();
    let cpu0 = cpu_seconds();
    let new = f(be)?;
    let dev = be.device_seconds();
    let cpu = cpu0.zip(cpu_seconds()).map(|(a, b)| b - a);
    for mut c in new {
        c.device_seconds = dev;
        c.cpu_seconds = cpu;
        c.peak_fraction = peak.zip(c.gflops).map(|(p, g)| g / p);
        cases.push(c);
    }
    Ok(())
}

/// Runs the chosen cases on `be`.
pub fn run(be: &mut dyn Backend, opts: &Options) -> anyhow::Result<BenchReport> {
    let t0 = Instant::now();
    let (quick, peak) = (opts.quick, opts.peak_gflops);
    be.start_timing();
    let mut cases = Vec::new();
    let target = if quick { 0.2 } else { 1.0 };
    let sizes: &[u32] = if quick {
        &[128, 256]
    } else {
        &[256, 1024, 2048]
    };
    for &n in sizes {
        let name = format!("gemm_{n}");
        if opts.wants(&name) {
            measure(be, &mut cases, peak, |be| {
                Ok(vec![gemm_case(
                    be,
                    name.clone(),
                    (n, n, n),
                    (false, true),
                    "X W^T",
                    target,
                )])
            })?;
        }
    }
    for (suffix, shape, orient, what) in [
        ("fwd", (64, 256, 784), (false, true), "forward X W^T"),
        ("err", (64, 784, 256), (false, false), "error D W"),
        (
            "grad",
            (256, 784, 64),
            (true, false),
            "weight gradient D^T X",
        ),
    ] {
        let name = format!("gemm_784x256x64_{suffix}");
        if opts.wants(&name) {
            measure(be, &mut cases, peak, |be| {
                Ok(vec![gemm_case(
                    be,
                    name.clone(),
                    shape,
                    orient,
                    what,
                    target,
                )])
            })?;
        }
    }
    if opts.wants("xbar_read") {
        let batch = if quick { 16 } else { 256 };
        measure(be, &mut cases, peak, |be| {
            Ok(vec![xbar_case(be, batch, 784, 256, target)])
        })?;
    }
    let limits = if quick {
        vec![
            "data.train_limit=256".to_string(),
            "data.test_limit=200".into(),
        ]
    } else {
        vec![]
    };
    if !quick && opts.wants("train_vgg8_insitu") {
        measure(be, &mut cases, peak, |be| Ok(vec![vgg::vgg8_case(be)?]))?;
    }
    let train_wanted = [
        "train_float",
        "train_insitu",
        "train_aihwkit_equiv",
        "population16",
    ];
    if !train_wanted.iter().any(|n| opts.wants(n)) {
        return Ok(report(be, opts, cases, t0));
    }
    let split = data::load(&parse("", "bench", &limits)?.data)?;
    let mut sets = vec![
        "train.epochs=1".to_string(),
        "train.batch_size=64".to_string(),
    ];
    if quick {
        sets.push("network.hidden=[64]".into());
    }
    if opts.wants("train_float") {
        let float = parse(
            include_str!("../../configs/mlp_mnist_bp.toml"),
            "bench",
            &sets,
        )?;
        measure(be, &mut cases, peak, |be| {
            Ok(vec![train_case(be, "train_float", &float, &split)?])
        })?;
    }
    let insitu = parse(
        include_str!("../../configs/xbar_mlp_bp.toml"),
        "bench",
        &sets,
    )?;
    if opts.wants("train_insitu") {
        measure(be, &mut cases, peak, |be| {
            Ok(vec![train_case(be, "train_insitu", &insitu, &split)?])
        })?;
    }
    if opts.wants("train_aihwkit_equiv") {
        let epochs: &[String] = if quick { &sets[..1] } else { &[] };
        let cfg = parse(
            include_str!("../../configs/bench_aihwkit_equiv.toml"),
            "bench",
            epochs,
        )?;
        measure(be, &mut cases, peak, |be| {
            Ok(vec![train_case(be, "train_aihwkit_equiv", &cfg, &split)?])
        })?;
    }
    if opts.wants("population16") {
        let mut pop = insitu.clone();
        pop.population = (0..16)
            .map(|i| crate::config::InstanceConfig {
                seed: Some(100 + i),
                ..Default::default()
            })
            .collect();
        let one = cases
            .iter()
            .find(|c| c.name == "train_insitu")
            .map(|c| c.seconds);
        let one = match one {
            Some(s) => s,
            None => train_case(be, "train_insitu", &insitu, &split)?.seconds,
        };
        measure(be, &mut cases, peak, |be| {
            let p16 = train_case(be, "train_insitu_population16", &pop, &split)?;
            let ratio = Case::new(
                "population16_cost_ratio",
                p16.seconds,
                p16.seconds / one,
                "x one instance",
                "time of 16 instances in one run / time of one instance (16 = no sharing)".into(),
            );
            Ok(vec![p16, ratio])
        })?;
    }
    if opts.wants("estimate_vgg8") {
        let vgg = parse(
            include_str!("../../configs/neurosim_vgg8_training.toml"),
            "bench",
            &[],
        )?;
        measure(be, &mut cases, peak, |_| {
            let t = Instant::now();
            let reps = 100;
            for _ in 0..reps {
                crate::chip::experiment::report(&vgg, None)?;
            }
            let s = t.elapsed().as_secs_f64() / reps as f64;
            Ok(vec![Case::new(
                "estimate_vgg8",
                s,
                s * 1e3,
                "ms per estimate",
                "VGG-8 inference + training cost, typical activity".into(),
            )])
        })?;
    }
    Ok(report(be, opts, cases, t0))
}

fn report(be: &dyn Backend, opts: &Options, cases: Vec<Case>, t0: Instant) -> BenchReport {
    BenchReport {
        version: env!("CARGO_PKG_VERSION").into(),
        adapter: be.describe(),
        quick: opts.quick,
        peak_gflops: opts.peak_gflops,
        cases,
        wall_seconds: t0.elapsed().as_secs_f64(),
    }
}
